/**
 * A JSON answer as tests and benches read it: they pick the fields they assert on, and a wrong
 * guess about its shape fails the test, so typing every body would repeat the route schemas for
 * nothing. The one place the suite says `any`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above: an HTTP answer's JSON, read field by field
export type JsonBody = any;
