import { createRequire } from 'node:module';

/**
 * Node's `require`, for the CommonJS packages that only some commands use (exceljs, alipay-sdk,
 * @resvg/resvg-js, ioredis, amqplib, aws4fetch): each is required on first use through `lazy`,
 * so that `fenxiao migrate` and the other commands that never write a workbook, draw a poster or
 * reach Redis do not spend their start-up loading them (issue 16 item 1: a command on an
 * existing embedded database in under 2 s). Resolved from this file, in the sources and in the
 * server build alike.
 */
export const requirePackage = createRequire(import.meta.url);

/** `load()` once, on the first call, and its value after that. */
export function lazy<T>(load: () => T): () => T {
  let loaded = false;
  let value: T | undefined;
  return () => {
    if (!loaded) {
      value = load();
      loaded = true;
    }
    return value as T;
  };
}
