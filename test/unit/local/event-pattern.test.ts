import { describe, expect, it } from 'vitest';
import { compileEventPattern, InvalidEventPatternError, matchesEventPattern } from '../../../lib/local/event-bus.ts';

const event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'SessionStopped',
  source: 'voltledger.ocpp',
  account: '000000000000',
  time: '2026-11-23T09:00:00Z',
  region: 'eu-central-1',
  resources: ['arn:aws:voltledger:cp/CP-001', 'arn:aws:voltledger:site/berlin'],
  detail: {
    metadata: { id: 'evt-1', version: 1 },
    data: {
      chargePointId: 'CP-001',
      status: 'Stopped',
      energyWh: 12500,
      ratio: 0.5,
      free: false,
      note: null,
      empty: '',
      tags: ['fleet', 'AC'],
      meters: [
        { measurand: 'Energy', value: 10 },
        { measurand: 'Power', value: 7 },
      ],
      nothing: [],
      sourceIp: '10.0.0.17',
      file: 'reports/2026/cdr.json',
    },
  },
};

const data = (pattern: object) => ({ detail: { data: pattern } });

describe('matchesEventPattern', () => {
  describe('exact values', () => {
    it.each([
      ['source equals', { source: ['voltledger.ocpp'] }, true],
      ['source is one of several (OR)', { source: ['other', 'voltledger.ocpp'] }, true],
      ['source differs', { source: ['voltledger.pricing'] }, false],
      ['source and detail-type (AND)', { source: ['voltledger.ocpp'], 'detail-type': ['SessionStopped'] }, true],
      ['one of AND fails', { source: ['voltledger.ocpp'], 'detail-type': ['SessionStarted'] }, false],
      ['exact match is case-sensitive', { source: ['VoltLedger.OCPP'] }, false],
      ['region and account', { region: ['eu-central-1'], account: ['000000000000'] }, true],
      ['resources: any element matches', { resources: ['arn:aws:voltledger:site/berlin'] }, true],
      ['nested detail string', data({ chargePointId: ['CP-001'] }), true],
      ['number equals number', data({ energyWh: [12500] }), true],
      ['number is not a string', data({ energyWh: ['12500'] }), false],
      ['boolean', data({ free: [false] }), true],
      ['null matches null', data({ note: [null] }), true],
      ['null does not match empty string', data({ empty: [null] }), false],
      ['empty string matches empty string', data({ empty: [''] }), true],
      ['array field: any element', data({ tags: ['AC'] }), true],
      ['array field: none match', data({ tags: ['DC'] }), false],
      ['missing field never equals', data({ missing: ['x'] }), false],
      ['value pattern on an object field does not match', { detail: { data: ['x'] } }, false],
      ['array of objects: one element matches all its fields', data({ meters: { measurand: ['Power'], value: [7] } }), true],
      ['array of objects: fields from different elements do not combine', data({ meters: { measurand: ['Power'], value: [10] } }), false],
    ])('%s', (_name, pattern, expected) => {
      expect(matchesEventPattern(pattern, event)).toBe(expected);
    });
  });

  describe('string operators', () => {
    it.each([
      ['prefix', data({ chargePointId: [{ prefix: 'CP-' }] }), true],
      ['prefix misses', data({ chargePointId: [{ prefix: 'cp-' }] }), false],
      ['prefix ignoring case', data({ chargePointId: [{ prefix: { 'equals-ignore-case': 'cp-' } }] }), true],
      ['prefix on a number never matches', data({ energyWh: [{ prefix: '125' }] }), false],
      ['suffix', data({ file: [{ suffix: '.json' }] }), true],
      ['suffix misses', data({ file: [{ suffix: '.JSON' }] }), false],
      ['suffix ignoring case', data({ file: [{ suffix: { 'equals-ignore-case': '.JSON' } }] }), true],
      ['equals-ignore-case', data({ status: [{ 'equals-ignore-case': 'stopped' }] }), true],
      ['equals-ignore-case misses', data({ status: [{ 'equals-ignore-case': 'started' }] }), false],
      ['wildcard', data({ file: [{ wildcard: 'reports/*/cdr.json' }] }), true],
      ['wildcard misses', data({ file: [{ wildcard: 'reports/*.csv' }] }), false],
      ['mixed alternatives: one literal, one operator', data({ status: ['Started', { prefix: 'Stop' }] }), true],
    ])('%s', (_name, pattern, expected) => {
      expect(matchesEventPattern(pattern, event)).toBe(expected);
    });
  });

  describe('anything-but', () => {
    it.each([
      ['a different value', data({ status: [{ 'anything-but': 'Started' }] }), true],
      ['the excluded value', data({ status: [{ 'anything-but': 'Stopped' }] }), false],
      ['a list', data({ status: [{ 'anything-but': ['Started', 'Stopped'] }] }), false],
      ['a numeric list', data({ energyWh: [{ 'anything-but': [0, 1] }] }), true],
      ['a prefix', data({ chargePointId: [{ 'anything-but': { prefix: 'CP-' } }] }), false],
      ['a prefix that differs', data({ chargePointId: [{ 'anything-but': { prefix: 'EVSE-' } }] }), true],
      ['a suffix', data({ file: [{ 'anything-but': { suffix: '.json' } }] }), false],
      ['ignoring case', data({ status: [{ 'anything-but': { 'equals-ignore-case': ['STOPPED'] } }] }), false],
      ['an array field where another element differs', data({ tags: [{ 'anything-but': 'fleet' }] }), true],
      ['a missing field does not match', data({ missing: [{ 'anything-but': 'x' }] }), false],
      ['type-strict: "12500" is not 12500', data({ energyWh: [{ 'anything-but': '12500' }] }), true],
    ])('%s', (_name, pattern, expected) => {
      expect(matchesEventPattern(pattern, event)).toBe(expected);
    });
  });

  describe('exists', () => {
    it.each([
      ['exists true on a present field', data({ status: [{ exists: true }] }), true],
      ['exists true on a missing field', data({ missing: [{ exists: true }] }), false],
      ['exists false on a missing field', data({ missing: [{ exists: false }] }), true],
      ['exists false on a present field', data({ status: [{ exists: false }] }), false],
      ['exists true on null', data({ note: [{ exists: true }] }), true],
      ['exists on an object (not a leaf)', data({ meters: [{ exists: true }] }), false],
      ['exists false on an empty array', data({ nothing: [{ exists: false }] }), true],
      ['exists false under a missing parent', { detail: { absent: { x: [{ exists: false }] } } }, true],
    ])('%s', (_name, pattern, expected) => {
      expect(matchesEventPattern(pattern, event)).toBe(expected);
    });
  });

  describe('numeric and cidr', () => {
    it.each([
      ['greater than', data({ energyWh: [{ numeric: ['>', 0] }] }), true],
      ['range inclusive', data({ energyWh: [{ numeric: ['>=', 12500, '<=', 12500] }] }), true],
      ['range exclusive', data({ energyWh: [{ numeric: ['>', 12500, '<', 20000] }] }), false],
      ['equals', data({ ratio: [{ numeric: ['=', 0.5] }] }), true],
      ['less than misses', data({ energyWh: [{ numeric: ['<', 100] }] }), false],
      ['numeric on a string never matches', data({ chargePointId: [{ numeric: ['>', 0] }] }), false],
      ['numeric on a missing field', data({ missing: [{ numeric: ['>', 0] }] }), false],
      ['cidr inside', data({ sourceIp: [{ cidr: '10.0.0.0/24' }] }), true],
      ['cidr outside', data({ sourceIp: [{ cidr: '10.0.1.0/24' }] }), false],
    ])('%s', (_name, pattern, expected) => {
      expect(matchesEventPattern(pattern, event)).toBe(expected);
    });
  });

  describe('$or', () => {
    it.each([
      ['one branch matches', { $or: [{ source: ['x'] }, { 'detail-type': ['SessionStopped'] }] }, true],
      ['no branch matches', { $or: [{ source: ['x'] }, { 'detail-type': ['y'] }] }, false],
      ['inside detail', { detail: { data: { $or: [{ status: ['Stopped'] }, { energyWh: [{ numeric: ['<', 0] }] }] } } }, true],
    ])('%s', (_name, pattern, expected) => {
      expect(matchesEventPattern(pattern, event)).toBe(expected);
    });
  });

  describe('the patterns events/routing.ts produces', () => {
    it('matches source and detail-type lists', () => {
      const pattern = { source: ['voltledger.ocpp'], 'detail-type': ['SessionCompleted', 'SessionStopped'] };
      expect(matchesEventPattern(pattern, event)).toBe(true);
      expect(matchesEventPattern(pattern, { ...event, 'detail-type': 'SessionStarted' })).toBe(false);
    });
  });

  describe('invalid patterns', () => {
    it.each([
      ['a scalar leaf', { source: 'voltledger.ocpp' }],
      ['an empty value list', { source: [] }],
      ['an unknown operator', { source: [{ contains: 'x' }] }],
      ['a bad numeric operator', data({ energyWh: [{ numeric: ['!=', 0] }] })],
      ['a numeric bound that is a string', data({ energyWh: [{ numeric: ['>', '0'] }] })],
      ['exists not boolean', data({ status: [{ exists: 'yes' }] })],
      ['an empty pattern', {}],
      ['$or with one branch', { $or: [{ source: ['x'] }] }],
    ])('rejects %s', (_name, pattern) => {
      expect(() => compileEventPattern(pattern)).toThrow(InvalidEventPatternError);
    });
  });
});
