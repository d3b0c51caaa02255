import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
const ext = process.argv[2] === 'own' ? ['broadcast-channel','idb-keyval','jwt-decode','oauth4webapi','dpop'] : [];
const r = await build({ stdin:{contents:"export * from './src/core/index.ts'", resolveDir:process.cwd(), loader:'ts', sourcefile:'entry.ts'}, bundle:true, write:false, splitting:true, outdir:'/tmp/perfwork/out', minify:true, format:'esm', platform:'browser', target:'es2022', metafile:true, logLevel:'error', external: ext, define:{'process.env.NODE_ENV':'"production"'}});
for (const f of r.outputFiles) {
  const meta = r.metafile.outputs[Object.keys(r.metafile.outputs).find(k => f.path.endsWith(k.replace(/^.*\//,'')))];
  console.log(f.path.split('/').pop(), f.contents.length, gzipSync(f.contents,{level:9}).length, meta.imports.map(i=>i.kind+':'+i.path.split('/').pop()).join(' '));
  if (process.argv[3]) for (const [k,v] of Object.entries(meta.inputs).sort((a,b)=>b[1].bytesInOutput-a[1].bytesInOutput)) console.log('   ', v.bytesInOutput, k);
}
