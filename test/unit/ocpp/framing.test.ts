import { describe, expect, it } from 'vitest';
import { callErrorFrame, parseFrame } from '../../../functions/ocpp/domain/framing.ts';

describe('parseFrame', () => {
  describe('well-formed frames', () => {
    it('reads a CALL', () => {
      expect(parseFrame('[2,"19223201","Authorize",{"idTag":"A"}]')).toEqual({
        kind: 'call',
        messageId: '19223201',
        action: 'Authorize',
        payload: { idTag: 'A' },
      });
    });

    it('reads a CALLRESULT and a CALLERROR', () => {
      expect(parseFrame('[3,"m1",{"status":"Accepted"}]')).toEqual({ kind: 'callResult', messageId: 'm1', payload: { status: 'Accepted' } });
      expect(parseFrame('[4,"m2","NotSupported","no",{}]')).toEqual({
        kind: 'callError',
        messageId: 'm2',
        errorCode: 'NotSupported',
        errorDescription: 'no',
        errorDetails: {},
      });
    });
  });

  describe('malformed frames', () => {
    it.each([
      ['not JSON at all', 'hello', null, true],
      ['truncated JSON whose id is readable', '[2,"abc","Heartbeat",{', 'abc', true],
      ['a JSON object instead of an array', '{"a":1}', null, true],
      ['too short an array', '[2,"x"]', null, true],
      ['a numeric message id', '[2,17,"Heartbeat",{}]', null, true],
      ['a message id over 36 characters', `[2,"${'x'.repeat(37)}","Heartbeat",{}]`, null, true],
      ['a CALL whose payload is an array', '[2,"id","Heartbeat",[]]', 'id', true],
      ['a CALL with a fifth element', '[2,"id","Heartbeat",{},1]', 'id', true],
      ['an unknown message type', '[7,"id","Heartbeat",{}]', 'id', true],
      ['a CALLRESULT with no payload object', '[3,"id","x"]', 'id', false],
      ['a CALLERROR missing details', '[4,"id","GenericError","x"]', 'id', false],
    ])('%s is FormationViolation', (_name, text, messageId, replyable) => {
      const frame = parseFrame(text);
      expect(frame).toMatchObject({ kind: 'invalid', messageId, errorCode: 'FormationViolation', replyable });
    });
  });
});

describe('callErrorFrame', () => {
  it('builds [4, id, code, description, details] and bounds the description', () => {
    const frame = JSON.parse(callErrorFrame('m', 'GenericError', 'x'.repeat(400), { a: 1 }));
    expect(frame[0]).toBe(4);
    expect(frame[1]).toBe('m');
    expect(frame[2]).toBe('GenericError');
    expect(frame[3]).toHaveLength(255);
    expect(frame[4]).toEqual({ a: 1 });
  });
});
