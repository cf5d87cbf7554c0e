import { describe, expect, it } from 'vitest';
import { idNumberCheckChar, idNumberMessage, idNumberProblem, isValidIdNumber, normalizeIdNumber } from './idnumber.ts';
import { maskAddress, maskEmail, maskIdNumber, maskName, maskPhone, maskWechat } from './mask.ts';
import { createKeyRing } from '../../lib/crypto.ts';
import { createPersonalFields } from './fields.ts';

describe('resident ID numbers', () => {
  it.each<[string, string | null, string]>([
    ['11010519491231002X', null, 'the GB 11643 example, check character X'],
    ['11010519491231002x', null, 'a lower-case x is the same number'],
    ['110105194912310021', 'checksum', 'one check character off'],
    ['110105194902300020', 'birth_date', 'February 30th'],
    ['110105180001010010', 'birth_date', 'born before 1900'],
    ['010105194912310021', 'format', 'a region code cannot start with 0'],
    ['1101051949123100', 'format', 'too short'],
    ['11010519491231002Y', 'format', 'a letter other than X'],
  ])('%s → %s (%s)', (id, problem) => {
    expect(idNumberProblem(normalizeIdNumber(id))).toBe(problem);
    expect(isValidIdNumber(id)).toBe(problem === null);
  });

  it('computes the ISO 7064 MOD 11-2 check character', () => {
    expect(idNumberCheckChar('11010519491231002')).toBe('X');
    expect(idNumberCheckChar('44030519851112456')).toMatch(/^[0-9X]$/);
  });

  it('names the problem, never the number', () => {
    for (const p of ['format', 'birth_date', 'checksum'] as const) expect(idNumberMessage(p).en + idNumberMessage(p).zh).not.toMatch(/[0-9]{6}/);
  });
});

describe('masks', () => {
  it.each([
    [maskPhone, '13812345678', '138****5678'],
    [maskPhone, '+8613812345678', '+86*******5678'],
    [maskIdNumber, '11010519491231002X', '110***********002X'],
    [maskName, '张三', '*三'],
    [maskName, '欧阳小明', '***明'],
    [maskName, '王', '*'],
    [maskName, 'Zhang San', '***n'],
    [maskEmail, 'zhangsan@example.com', 'z***@example.com'],
    [maskEmail, 'not-an-email', 'n*********il'],
    [maskWechat, 'wxid_zhangsan88', 'wx***88'],
    [maskWechat, 'abc', '***'],
    [maskAddress, '广东省深圳市南山区科技园路1号', '广东省深圳市****'],
    [maskAddress, '北京', '北****'],
  ] as const)('%o(%s) → %s', (mask, value, masked) => {
    expect(mask(value)).toBe(masked);
    if (value.length > 3) expect(masked).not.toContain(value);
  });
});

describe('personal fields', () => {
  const ring = createKeyRing(Buffer.alloc(32, 7));
  const fields = createPersonalFields(ring);

  it('encrypts each field, indexes the phone and the ID number, and masks or decodes', () => {
    const row = {
      ...fields.phone('138 1234-5678'),
      ...fields.realName(' 张三 '),
      ...fields.idNumber('11010519491231002x'),
      ...fields.contact(null, { wechat: 'wxid_zhangsan88', email: 'zs@example.com', address: null }),
    };
    expect(JSON.stringify(row)).not.toMatch(/13812345678|张三|11010519491231002|zhangsan|zs@/);
    expect(row.phone_bidx).toBe(ring.blindIndex('13812345678'));
    expect(row.id_number_bidx).toBe(ring.blindIndex('11010519491231002X'));
    expect(fields.decode(row)).toEqual({
      phone: '13812345678',
      real_name: '张三',
      id_number: '11010519491231002X',
      wechat: 'wxid_zhangsan88',
      email: 'zs@example.com',
      address: null,
    });
    expect(fields.mask(row)).toEqual({
      phone: '138****5678',
      real_name: '*三',
      id_number: '110***********002X',
      wechat: 'wx***88',
      email: 'z***@example.com',
      address: null,
    });
    expect(fields.present(row)).toEqual(['phone', 'real_name', 'id_number', 'wechat', 'email']);
    // A contact change merges; null removes one field; nothing left is no ciphertext at all.
    const changed = fields.contact(row, { email: null, address: '上海市黄浦区' });
    expect(fields.decode({ ...row, ...changed })).toMatchObject({ wechat: 'wxid_zhangsan88', email: null, address: '上海市黄浦区' });
    expect(fields.contact(row, { wechat: null, email: null }).contact_enc).toBeNull();
  });

  it('shows *** for a value no configured key opens, instead of failing the page', () => {
    const other = createPersonalFields(createKeyRing(Buffer.alloc(32, 9)));
    const row = { ...other.phone('13812345678'), real_name_enc: null, id_number_enc: null, id_number_bidx: null, contact_enc: null };
    expect(fields.mask(row).phone).toBe('***');
    expect(() => fields.decode(row)).toThrow();
  });

  it('looks a value up under every configured key during a rotation', () => {
    const old = createKeyRing(Buffer.alloc(32, 1));
    const both = createKeyRing(Buffer.alloc(32, 2), [Buffer.alloc(32, 1)]);
    expect(createPersonalFields(both).phoneIndexes('13812345678')).toEqual([both.blindIndex('13812345678'), old.blindIndex('13812345678')]);
  });
});
