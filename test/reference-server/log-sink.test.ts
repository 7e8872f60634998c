import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { logSink } from '../../src/reference-server/log-sink.js';
import type { LogEntry } from '../../src/reference-server/log.js';

const entry = (nick: string): LogEntry => ({ time: '2026-12-04T00:00:00.000Z', level: 'info', event: 'join', nick });

/** A stream whose reader takes nothing until `release()`; then everything, at once. */
function stalled(): { stream: Writable; lines: () => string[]; release: () => void } {
  const taken: string[] = [];
  const waiting: (() => void)[] = [];
  let open = false;
  const stream = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _enc, done) {
      taken.push(chunk.toString());
      if (open) done();
      else waiting.push(done);
    },
  });
  return {
    stream,
    lines: () => taken.join('').split('\n').filter((l) => l !== ''),
    release: () => {
      open = true;
      for (const done of waiting.splice(0)) done();
    },
  };
}

function collecting(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('the server log sink', () => {
  it('drops and counts lines past the bound while the reader does not read, and says how many once it caught up', async () => {
    const out = stalled();
    const sink = logSink('text', { primary: out.stream, primaryName: 'stdout' }, { maxBufferedBytes: 500 });
    for (let i = 0; i < 100; i++) sink.log(entry(`m${i}`));
    // 500 bytes hold a few lines of about 70: the rest were dropped and counted, none queued.
    expect(sink.lost).toBeGreaterThan(80);
    expect(sink.lost).toBeLessThan(100);
    out.release();
    await new Promise((resolve) => setImmediate(resolve));
    const lines = out.lines();
    expect(lines.length).toBe(100 - sink.lost + 1);
    expect(lines[0]).toContain('nick="m0"');
    const last = lines.at(-1)!;
    expect(last).toContain('code=LOG_OUTPUT_LOST');
    expect(last).toContain(`${sink.lost} log lines dropped: the reader of stdout did not keep up`);
  });

  it('after EPIPE on stdout says so on stderr and logs there; once both are gone it only counts', () => {
    const out = collecting();
    const err = collecting();
    const sink = logSink('json', { primary: out.stream, primaryName: 'stdout', fallback: err.stream, fallbackName: 'stderr' });
    sink.log(entry('before'));
    out.stream.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    sink.log(entry('after'));
    const lines = err.text().trim().split('\n').map((l) => JSON.parse(l) as LogEntry);
    expect(lines.map((l) => [l.code, l.nick])).toEqual([['LOG_OUTPUT_LOST', undefined], [undefined, 'after']]);
    expect(lines[0]!.reason).toBe("the log's reader went away (EPIPE on stdout): logging to stderr from now on");
    expect(out.text()).toContain('"nick":"before"');
    err.stream.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    sink.log(entry('lost'));
    expect(sink.lost).toBe(1);
    expect(() => sink.close()).not.toThrow();
  });

  it('a write that throws at once (a file or terminal) moves the line to the fallback', () => {
    const broken = new Writable({ write: (_c, _e, done) => done() });
    broken.write = () => {
      throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
    };
    const err = collecting();
    const sink = logSink('text', { primary: broken, primaryName: 'stdout', fallback: err.stream, fallbackName: 'stderr' });
    sink.log(entry('alice'));
    expect(err.text()).toMatch(/code=LOG_OUTPUT_LOST reason="the log could not be written \(ENOSPC on stdout\)/);
    expect(err.text()).toContain('nick="alice"');
    expect(sink.lost).toBe(0);
  });
});
