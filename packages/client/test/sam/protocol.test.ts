// The child<->supervisor bytes, against the strace of a real libsam program (corosync-services.md §8.3).
import { describe, expect, it } from 'vitest';
import { CS_ERR_NO_MEMORY, CS_OK } from '@corosync-ts/types';
import {
  SAM_COMMAND_HB,
  SAM_COMMAND_START,
  encodeCommand,
  encodeDataStore,
  encodeMarker,
  encodeReply,
  encodeWarnSignalSet,
  parseMarker,
  policyBase,
  readInt32,
  readSize,
} from '../../src/sam/protocol.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('sam pipe protocol', () => {
  it('commands are the bytes libsam writes', () => {
    expect(hex(encodeCommand(SAM_COMMAND_START))).toBe('00');
    expect(hex(encodeCommand(SAM_COMMAND_HB))).toBe('02');
    // strace: write(7,"\x03") write(7,"\x0a\0\0\0\0\0\0\0") write(7,"hello-sam\0")
    const data = new TextEncoder().encode('hello-sam\0');
    expect(hex(encodeDataStore(data))).toBe('03' + '0a00000000000000' + hex(data));
    expect(hex(encodeDataStore(null))).toBe('03' + '0000000000000000');
    // strace: write(7,"\x04") write(7,"\x0f\0\0\0")
    expect(hex(encodeWarnSignalSet(15))).toBe('040f000000');
  });

  it('replies: 0 for OK, 1 + cs_error_t otherwise', () => {
    expect(hex(encodeReply(CS_OK, CS_OK))).toBe('00');
    expect(hex(encodeReply(CS_ERR_NO_MEMORY, CS_OK))).toBe('0108000000');
    expect(readInt32(encodeReply(CS_ERR_NO_MEMORY, CS_OK).subarray(1))).toBe(CS_ERR_NO_MEMORY);
    expect(readSize(encodeDataStore(new Uint8Array(300)).subarray(1))).toBe(300n);
  });

  it('policyBase strips QUORUM and CMAP as SAM_RP_MASK does', () => {
    expect(policyBase(0x1a)).toBe(2);
    expect(policyBase(0x09)).toBe(1);
    expect(policyBase(0x14)).toBe(4);
  });

  it('the child marker round-trips and rejects anything else', () => {
    const m = { instanceId: 3, commandFd: 3, replyFd: 4, timeInterval: 1000, policy: 0x12, warnSignal: 10, supervisorPid: 42 };
    expect(parseMarker(encodeMarker(m))).toEqual(m);
    expect(parseMarker('v2;instanceId=1')).toBeUndefined();
    expect(parseMarker(encodeMarker(m).replace('replyFd=4', 'replyFd=x'))).toBeUndefined();
    expect(parseMarker(encodeMarker(m).replace(';supervisorPid=42', ''))).toBeUndefined();
  });
});
