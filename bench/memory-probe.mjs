// Preloaded into the server by bench/member-memory.ts only (NODE_OPTIONS="--expose-gc --import=..."):
// on SIGUSR2, a full GC, then process.memoryUsage() as one JSON line in $CHATKIT_MEMORY_PROBE.
import { writeFileSync } from 'node:fs';

const file = process.env.CHATKIT_MEMORY_PROBE;
if (file !== undefined && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    globalThis.gc();
    writeFileSync(file, `${JSON.stringify(process.memoryUsage())}\n`);
  });
}
