import { PGlite } from '@electric-sql/pglite';
for (let i=0;i<3;i++){ const t0=Date.now();
const db = new PGlite();
await db.waitReady;
console.log('ready', Date.now()-t0); await db.close(); }
const t1=Date.now(); const d2 = new PGlite('/tmp/pgl1'); await d2.waitReady; console.log('dir', Date.now()-t1); await d2.close();
const t2=Date.now(); const d3 = new PGlite('/tmp/pgl1'); await d3.waitReady; console.log('dir reopen', Date.now()-t2);
const t3=Date.now(); const dump = await d3.dumpDataDir('none'); console.log('dump', Date.now()-t3, dump.size);
const t4=Date.now(); const d4 = new PGlite({loadDataDir: dump}); await d4.waitReady; console.log('from dump', Date.now()-t4);
