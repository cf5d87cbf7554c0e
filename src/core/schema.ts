import { Type, type TObject, type TProperties, type TSchema, type ObjectOptions } from '@sinclair/typebox';
import { BIDI_CONTROLS_CLASS } from './text.ts';

/**
 * Building blocks for route schemas. Each route schema is defined once: it validates, strips
 * unknown response fields, and becomes the OpenAPI document.
 */

/** The largest amount in fen Fenxiao accepts anywhere: 10 billion yuan. */
export const MAX_FEN = 1_000_000_000_000;

/** An object that refuses unknown fields (requests) and drops them (responses). */
export function Strict<T extends TProperties>(properties: T, options: ObjectOptions = {}): TObject<T> {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

export const Fen = (options: { minimum?: number; description?: string } = {}) =>
  Type.Integer({ minimum: options.minimum ?? 0, maximum: MAX_FEN, ...(options.description ? { description: options.description } : {}) });

/** A signed amount in fen (balances after a clawback, negative clawback lines). */
export const SignedFen = (description?: string) => Type.Integer({ minimum: -MAX_FEN * 10, maximum: MAX_FEN * 10, ...(description ? { description } : {}) });

export const Bp = (description?: string) => Type.Integer({ minimum: 0, maximum: 10000, ...(description ? { description } : {}) });

/**
 * Text people type and others read (names, reasons, notes): refuses bidirectional control
 * characters (`x-no-bidi`, formats.ts), which make a screen show `invoice\u202efdp.exe` as
 * `invoiceexe.pdf` or one name as another.
 */
export const Text = (maxLength: number, options: { minLength?: number; description?: string; pattern?: string } = {}) =>
  Type.String({ minLength: options.minLength ?? 0, maxLength, ...options, 'x-no-bidi': true });

/** Merchant-side ids (user ids, order ids): printable, no control or bidirectional control characters. */
export const ExternalId = (description?: string) =>
  Type.String({ minLength: 1, maxLength: 128, pattern: `^[^\\u0000-\\u001f\\u007f${BIDI_CONTROLS_CLASS}]+$`, ...(description ? { description } : {}) });

export const Id = (prefix: string) => Type.String({ minLength: 1, maxLength: 64, description: `id, ${prefix}_…` });

export const Timestamp = (description?: string) => Type.String({ format: 'date-time', ...(description ? { description } : {}) });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ErrorResponse = Strict(
  {
    error: Strict({
      code: Type.String(),
      message: Type.String(),
    }),
  },
  { $id: 'ErrorResponse', title: 'Error' },
);

export const ErrorRef = Type.Ref('ErrorResponse');

export const List = <T extends TSchema>(item: T) =>
  Strict({
    items: Type.Array(item),
    next_cursor: Nullable(Type.String()),
  });

export const PageQuery = Strict({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

/**
 * Error responses every authenticated route may give, for the OpenAPI document; 503
 * service_unavailable (with Retry-After) while the database is away.
 */
export function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of [400, 401, ...statuses, 503]) out[s] = ErrorRef;
  return out;
}

export const IdParams = Strict({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** A body that may be left out (no body, an empty body, or null). */
export const OptionalBody = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
