import { describe, expect, it } from 'vitest';
import { createBankChannel, renderBankBatchFile, type BankBatchLine } from './bank.ts';
import { createManualChannel } from './manual.ts';

function line(outNo: string, amountFen: number, over: Partial<BankBatchLine['account']> = {}, remark = '佣金提现'): BankBatchLine {
  return {
    outNo,
    amountFen,
    remark,
    account: { channel: 'bank', accountNo: '6222021234567890123', accountName: '张三', bankName: '中国工商银行', branch: '北京海淀支行', ...over },
  };
}

describe('bank batch file', () => {
  it('is UTF-8 with a BOM, CRLF lines: a header, one line per payout with the full account number, and exact totals', () => {
    const file = renderBankBatchFile([
      line('WD0001', 1),
      line('WD0002', 99, { accountNo: '6217 0000 1111 2222 333', accountName: '李四', bankName: '中国建设银行', branch: undefined }),
      line('WD0003', 12_345, {}, '9月佣金'),
      line('WD0004', 100_000_000_000),
    ]);
    expect([...file.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = file.subarray(3).toString('utf8');
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n')).toEqual([
      '付款单号,收款户名,收款账号,开户银行,开户支行,金额(元),备注',
      'WD0001,张三,6222021234567890123,中国工商银行,北京海淀支行,0.01,佣金提现',
      'WD0002,李四,6217000011112222333,中国建设银行,,0.99,佣金提现',
      'WD0003,张三,6222021234567890123,中国工商银行,北京海淀支行,123.45,9月佣金',
      'WD0004,张三,6222021234567890123,中国工商银行,北京海淀支行,1000000000.00,佣金提现',
      '合计,共4笔,,,,1000000124.45,',
      '',
    ]);
  });

  it('an empty batch is a header and a zero total', () => {
    expect(renderBankBatchFile([]).subarray(3).toString('utf8')).toBe('付款单号,收款户名,收款账号,开户银行,开户支行,金额(元),备注\r\n合计,共0笔,,,,0.00,\r\n');
  });

  it('quotes commas, quotes and line breaks, and defuses spreadsheet formulas in typed fields', () => {
    const text = renderBankBatchFile([
      line('WD0001', 100, { accountName: '=HYPERLINK("http://x","点我")', branch: '海淀,中关村支行' }, '第一行\n第二行'),
      line('WD0002', 100, { accountName: '@SUM(A1)', bankName: '+cmd', branch: '-1' }),
    ])
      .subarray(3)
      .toString('utf8');
    const rows = text.split('\r\n');
    expect(rows[1]).toBe('WD0001,"\'=HYPERLINK(""http://x"",""点我"")",6222021234567890123,中国工商银行,"海淀,中关村支行",1.00,"第一行\n第二行"');
    expect(rows[2]).toBe("WD0002,'@SUM(A1),6222021234567890123,'+cmd,'-1,1.00,佣金提现");
  });

  it('defuses formulas behind blanks and in full-width signs (issue 14)', () => {
    const text = renderBankBatchFile([line('WD0003', 100, { accountName: '＝HYPERLINK("http://x")', bankName: '\u00a0=1+2', branch: ' @SUM(A1)' })])
      .subarray(3)
      .toString('utf8');
    expect(text.split('\r\n')[1]).toBe('WD0003,"\'＝HYPERLINK(""http://x"")",6222021234567890123,\'\u00a0=1+2,\' @SUM(A1),1.00,佣金提现');
  });

  it('refuses a payout twice in one file, a non-positive or fractional amount, and an account number that is not digits', () => {
    expect(() => renderBankBatchFile([line('WD0001', 100), line('WD0001', 100)])).toThrow(/twice/);
    expect(() => renderBankBatchFile([line('WD0001', 0)])).toThrow(RangeError);
    expect(() => renderBankBatchFile([line('WD0001', 1.5)])).toThrow(RangeError);
    expect(() => renderBankBatchFile([line('WD0001', 100, { accountNo: '6222-0212-3456' })])).not.toThrow();
    expect(() => renderBankBatchFile([line('WD0001', 100, { accountNo: '62220X1234567890' })])).toThrow(/digits/);
  });
});

describe('offline channels', () => {
  it('bank: submit is processing and polling never moves it', async () => {
    const bank = createBankChannel();
    expect(bank.online).toBe(false);
    expect((await bank.submit(line('WD0001', 100))).outcome).toBe('processing');
    expect(await bank.query('WD0001')).toMatchObject({ found: true, outcome: 'processing' });
    await expect(bank.submit({ outNo: 'WD0002', amountFen: 1, remark: 'x', account: { channel: 'wechat', openid: 'o' } })).rejects.toThrow(TypeError);
  });

  it('manual: submit is processing, whatever the account', async () => {
    const manual = createManualChannel();
    expect(manual.online).toBe(false);
    expect((await manual.submit({ outNo: 'WD0001', amountFen: 1, remark: 'x', account: { channel: 'manual', note: '现金' } })).outcome).toBe('processing');
    expect(await manual.query('WD0001')).toMatchObject({ found: true, outcome: 'processing' });
  });
});
