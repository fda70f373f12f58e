import { describe, expect, it } from 'vitest';
import { parseIdTagCsv, splitCsv } from '../../../functions/entitlements/domain/id-tag-csv.ts';

const HEADER = 'idTag,status,expiryDate,parentIdTag,billingKind,tier,accountId,reason';

describe('idTag CSV', () => {
  describe('splitCsv', () => {
    it('handles quotes, doubled quotes, commas in quotes and CRLF', () => {
      expect(splitCsv('a,"b,c","d ""e"""\r\n1,2,3\n')).toEqual([['a', 'b,c', 'd "e"'], ['1', '2', '3']]);
    });
  });

  describe('parseIdTagCsv', () => {
    it('parses every billing kind and leaves empty cells out', () => {
      const { rows, errors } = parseIdTagCsv(
        [HEADER, '04A2B3C4,Accepted,2027-12-31T23:59:59Z,,fleet,,ACME,', 'STAFF-1,Accepted,,,free,,,"staff, night shift"', 'PLUS-1,Accepted,,,member,plus,,', 'OLD-1,Blocked,,,,,,'].join('\n'),
      );
      expect(errors).toEqual([]);
      expect(rows).toEqual([
        { idTag: '04A2B3C4', status: 'Accepted', expiryDate: '2027-12-31T23:59:59Z', billing: { kind: 'fleet', accountId: 'ACME' } },
        { idTag: 'STAFF-1', status: 'Accepted', billing: { kind: 'free', reason: 'staff, night shift' } },
        { idTag: 'PLUS-1', status: 'Accepted', billing: { kind: 'member', tier: 'plus' } },
        { idTag: 'OLD-1', status: 'Blocked' },
      ]);
    });

    it.each([
      ['a status OCPP does not have', 'T1,Maybe,,,,,,', 'status'],
      ['an idTag over 20 characters', `${'X'.repeat(21)},Accepted,,,,,,`, 'idTag'],
      ['a date without offset', 'T1,Accepted,2027-12-31,,,,,', 'expiryDate'],
      ['an unknown billing kind', 'T1,Accepted,,,prepaid,,,', 'billingKind'],
      ['fleet without its account', 'T1,Accepted,,,fleet,,,', 'accountId'],
      ['a tier on a fleet card', 'T1,Accepted,,,fleet,plus,ACME,', 'tier'],
      ['a tier without billingKind', 'T1,Accepted,,,,plus,,', 'tier'],
      ['a short row', 'T1,Accepted', '(row)'],
    ])('names row and field for %s', (_name, line, field) => {
      const { errors } = parseIdTagCsv(`${HEADER}\nGOOD,Accepted,,,,,,\n${line}\n`);
      expect(errors).toEqual([expect.objectContaining({ row: 3, field })]);
    });

    it('reports every bad row, not only the first', () => {
      expect(parseIdTagCsv(`${HEADER}\nA,Nope,,,,,,\nB,Accepted,,,,,,\nC,Accepted,soon,,,,,\n`).errors.map((e) => [e.row, e.field])).toEqual([[2, 'status'], [4, 'expiryDate']]);
    });

    it('refuses duplicate idTags case-insensitively', () => {
      expect(parseIdTagCsv(`${HEADER}\nabc,Accepted,,,,,,\nABC,Blocked,,,,,,\n`).errors).toEqual([{ row: 3, field: 'idTag', message: 'duplicates row 2 (idTags are case-insensitive)' }]);
    });

    it('refuses unknown and missing columns in the header', () => {
      expect(parseIdTagCsv('idTag,colour\nA,red\n').errors.map((e) => e.field)).toEqual(['colour', 'status']);
    });
  });
});
