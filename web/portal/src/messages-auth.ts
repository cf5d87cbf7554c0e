/** Applying with a texted code, and a sign-in link met by another session. Chinese first; English has every key. */
export const authZh = {
  'apply.codeTitle': '输入短信验证码',
  'apply.codeSent': '我们已向 {phone} 发送了 6 位验证码，10 分钟内有效。',
  'apply.code': '验证码',
  'apply.codeInvalid': '请输入 6 位数字',
  'apply.verify': '确认并完成申请',
  'apply.resend': '重新填写',
  'link.title': '切换账号？',
  'link.signedInAs': '此设备上已登录：{name}',
  'link.question': '商户的登录链接会让你以另一个分销员身份登录，并退出当前账号。要切换吗？',
  'link.switch': '切换账号',
  'link.stay': '保持当前账号',
} as const;

export const authEn: Record<keyof typeof authZh, string> = {
  'apply.codeTitle': 'Enter the code we texted you',
  'apply.codeSent': 'We texted a 6-digit code to {phone}; it works for 10 minutes.',
  'apply.code': 'Code',
  'apply.codeInvalid': 'Enter the 6 digits',
  'apply.verify': 'Confirm and finish',
  'apply.resend': 'Start again',
  'link.title': 'Switch accounts?',
  'link.signedInAs': 'Signed in on this device: {name}',
  'link.question': "The merchant's sign-in link signs you in as a distributor, and signs the current one out. Switch?",
  'link.switch': 'Switch accounts',
  'link.stay': 'Stay signed in',
};
