/**
 * Where the goods of a commission line's order are (shipped, signed for) and their tracking
 * number (issue 12, item 4). Chinese first; English has every key. Carriers by their Kuaidi100
 * codes; a code not listed here is shown as it came.
 */
export const logisticsZh = {
  'logistics.not_shipped': '待发货',
  'logistics.shipped': '已发货',
  'logistics.received': '已签收',
  'logistics.state': '物流',
  'logistics.line': '{state} · {carrier} {number}',
  'carrier.shunfeng': '顺丰速运',
  'carrier.zhongtong': '中通快递',
  'carrier.yuantong': '圆通速递',
  'carrier.yunda': '韵达快递',
  'carrier.shentong': '申通快递',
  'carrier.ems': 'EMS',
  'carrier.youzhengguonei': '邮政快递包裹',
  'carrier.jd': '京东物流',
  'carrier.jtexpress': '极兔速递',
  'carrier.debangwuliu': '德邦物流',
} satisfies Record<string, string>;

export const logisticsEn: Record<keyof typeof logisticsZh, string> = {
  'logistics.not_shipped': 'Not shipped yet',
  'logistics.shipped': 'Shipped',
  'logistics.received': 'Delivered',
  'logistics.state': 'Delivery',
  'logistics.line': '{state} · {carrier} {number}',
  'carrier.shunfeng': 'SF Express',
  'carrier.zhongtong': 'ZTO Express',
  'carrier.yuantong': 'YTO Express',
  'carrier.yunda': 'Yunda Express',
  'carrier.shentong': 'STO Express',
  'carrier.ems': 'EMS',
  'carrier.youzhengguonei': 'China Post parcel',
  'carrier.jd': 'JD Logistics',
  'carrier.jtexpress': 'J&T Express',
  'carrier.debangwuliu': 'Deppon Logistics',
};
