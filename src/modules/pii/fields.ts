import type { KeyRing } from '../../lib/crypto.ts';
import { invalid } from '../../core/errors.ts';
import { idNumberMessage, idNumberProblem, normalizeIdNumber } from './idnumber.ts';
import { maskAddress, maskEmail, maskIdNumber, maskName, maskPhone, maskWechat } from './mask.ts';

/**
 * A distributor's personal data as it is stored: each field its own AES-256-GCM ciphertext under
 * the key ring (the contact fields share one), and HMAC blind indexes of the phone and the ID
 * number for lookups and duplicate detection. The display name (`name`) is not here: it is shown
 * to the upline, on posters and in search, and erasure replaces it instead.
 */

export interface PersonalColumns {
  phone_enc: string | null;
  phone_bidx: string | null;
  real_name_enc: string | null;
  id_number_enc: string | null;
  id_number_bidx: string | null;
  contact_enc: string | null;
}

export interface Contact {
  wechat?: string | undefined;
  email?: string | undefined;
  address?: string | undefined;
}

export const CONTACT_KEYS = ['wechat', 'email', 'address'] as const;

/** The whole values: only for pii:read callers (reveal, export) and the person itself. */
export interface PersonalData {
  phone: string | null;
  real_name: string | null;
  id_number: string | null;
  wechat: string | null;
  email: string | null;
  address: string | null;
}

export type PersonalField = keyof PersonalData;
export const PERSONAL_FIELDS: readonly PersonalField[] = ['phone', 'real_name', 'id_number', 'wechat', 'email', 'address'];

/** Keys of the application profile that are personal data and so never stay in `profile`. */
export const PROFILE_PERSONAL_KEYS = ['real_name', 'id_number', 'wechat', 'email', 'address'] as const;

export function normalizePhone(phone: string): string {
  return phone.replace(/[\s-]/g, '');
}

/** Checks and normalises an ID number; the error never repeats the number. */
export function checkIdNumber(value: string): string {
  const id = normalizeIdNumber(value);
  const problem = idNumberProblem(id);
  if (problem) throw invalid(idNumberMessage(problem));
  return id;
}

const UNREADABLE = '***';

export function createPersonalFields(keyring: KeyRing) {
  const enc = (v: string | null | undefined) => (v ? keyring.encrypt(v) : null);

  function open(ciphertext: string | null): string | null {
    return ciphertext ? keyring.decrypt(ciphertext) : null;
  }

  function contactOf(row: Pick<PersonalColumns, 'contact_enc'>): Contact {
    const text = open(row.contact_enc);
    return text ? (JSON.parse(text) as Contact) : {};
  }

  function encodeContact(c: Contact): string | null {
    const kept: Contact = {};
    for (const k of CONTACT_KEYS) if (c[k]) kept[k] = c[k];
    return Object.keys(kept).length ? keyring.encrypt(JSON.stringify(kept)) : null;
  }

  /** A value that cannot be decrypted (a key missing from the ring) shows as *** rather than failing the page. */
  function masked<T>(read: () => T | null, mask: (v: T) => string): string | null {
    try {
      const v = read();
      return v === null || v === undefined || v === '' ? null : mask(v);
    } catch {
      return UNREADABLE;
    }
  }

  return {
    phone(phone: string | null): Pick<PersonalColumns, 'phone_enc' | 'phone_bidx'> {
      const p = phone ? normalizePhone(phone) : null;
      return { phone_enc: enc(p), phone_bidx: p ? keyring.blindIndex(p) : null };
    },

    realName(name: string | null): Pick<PersonalColumns, 'real_name_enc'> {
      const n = name?.trim() || null;
      return { real_name_enc: enc(n) };
    },

    /** The caller checked the number (checkIdNumber). */
    idNumber(id: string | null): Pick<PersonalColumns, 'id_number_enc' | 'id_number_bidx'> {
      const n = id ? normalizeIdNumber(id) : null;
      return { id_number_enc: enc(n), id_number_bidx: n ? keyring.blindIndex(n) : null };
    },

    /** Merges changes into the stored contact fields (null deletes one) and encrypts the result. */
    contact(row: Pick<PersonalColumns, 'contact_enc'> | null, changes: { [K in keyof Contact]?: string | null }): Pick<PersonalColumns, 'contact_enc'> {
      const current = row ? contactOf(row) : {};
      const next: Contact = {};
      for (const k of CONTACT_KEYS) {
        const v = changes[k];
        const kept = current[k];
        if (v === undefined) {
          if (kept) next[k] = kept;
        } else if (v !== null && v.trim() !== '') next[k] = v.trim();
      }
      return { contact_enc: encodeContact(next) };
    },

    /** Lookup keys of a phone: the current key's index and the previous keys' (during a rotation). */
    phoneIndexes(phone: string): string[] {
      return keyring.blindIndexes(normalizePhone(phone));
    },

    idNumberIndexes(id: string): string[] {
      return keyring.blindIndexes(normalizeIdNumber(id));
    },

    /** Whole values. Throws if a ciphertext cannot be read: a caller that asked for them must know. */
    decode(row: PersonalColumns): PersonalData {
      const c = contactOf(row);
      return {
        phone: open(row.phone_enc),
        real_name: open(row.real_name_enc),
        id_number: open(row.id_number_enc),
        wechat: c.wechat ?? null,
        email: c.email ?? null,
        address: c.address ?? null,
      };
    },

    /** What every response shows. */
    mask(row: PersonalColumns): PersonalData {
      let contact: Contact | null = null;
      const readContact = () => (contact ??= contactOf(row));
      return {
        phone: masked(
          () => open(row.phone_enc),
          (v) => maskPhone(normalizePhone(v)),
        ),
        real_name: masked(() => open(row.real_name_enc), maskName),
        id_number: masked(() => open(row.id_number_enc), maskIdNumber),
        wechat: masked(() => readContact().wechat ?? null, maskWechat),
        email: masked(() => readContact().email ?? null, maskEmail),
        address: masked(() => readContact().address ?? null, maskAddress),
      };
    },

    /** Which personal fields a row holds (for audit entries: names of fields, never values). */
    present(row: PersonalColumns): PersonalField[] {
      const out: PersonalField[] = [];
      if (row.phone_enc) out.push('phone');
      if (row.real_name_enc) out.push('real_name');
      if (row.id_number_enc) out.push('id_number');
      if (row.contact_enc) {
        try {
          const c = contactOf(row);
          for (const k of CONTACT_KEYS) if (c[k]) out.push(k);
        } catch {
          out.push('wechat', 'email', 'address');
        }
      }
      return out;
    },
  };
}

export type PersonalFields = ReturnType<typeof createPersonalFields>;
