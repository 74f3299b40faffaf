import { describe, expect, it } from 'vitest';
// A module registry of its own (vitest isolates each test file): the tables start unbuilt here.
import { codec, encoders, findMessage, messages, runtimeMessages } from '../src/index.js';

// Cold start (issue 13): a catalog message's runtime form is built when it is first used, one by
// one, not the whole catalog at the first call. The ones built early must be the very objects the
// whole array holds once it is built, and a message looked up by name must be the catalog's.
describe('runtime messages built one by one', () => {
  it('a message built early is the one runtimeMessages holds later, at its catalog index', () => {
    const get = findMessage('cmap.get', 'res')!;
    const getReq = findMessage('cmap.get')!;
    const last = codec.message(messages.length - 1)!;
    const viaEncoders = encoders.quorum.req.getquorate;
    expect(typeof viaEncoders).toBe('function');
    expect(get.dir).toBe('res');
    expect(getReq.dir).toBe('req');
    expect(messages[get.index]).toMatchObject({ name: 'cmap.get', dir: 'res' });
    expect(runtimeMessages[get.index]).toBe(get);
    expect(runtimeMessages[getReq.index]).toBe(getReq);
    expect(runtimeMessages[messages.length - 1]).toBe(last);
    // No holes left by the ones built out of order.
    expect(Object.keys(runtimeMessages)).toHaveLength(messages.length);
    expect(runtimeMessages.every((m, i) => m.index === i)).toBe(true);
  });

  it('by name: the one message of a name, else its request; out of range or unknown: undefined', () => {
    for (const [i, m] of messages.entries()) {
      const same = messages.filter((x) => x.name === m.name);
      const want = same.length === 1 ? m : same.find((x) => x.dir === 'req');
      expect(findMessage(m.name)?.index).toBe(want === undefined ? undefined : messages.indexOf(want));
      expect(findMessage(m.name, m.dir)?.index).toBe(messages.findIndex((x) => x.name === m.name && x.dir === m.dir));
      expect(codec.message(i)).toBe(runtimeMessages[i]);
    }
    expect(findMessage('cmap.nope')).toBeUndefined();
    expect(codec.message(-1)).toBeUndefined();
    expect(codec.message(messages.length)).toBeUndefined();
    expect(codec.messageIndex('cmap.get', 'evt')).toBe(-1);
  });
});
