import { z } from 'zod';
import { BillingProfileSchema, type BillingProfile } from '../../../events/billing.ts';

/** One idTag as imported from a CSV of RFID cards. */
export interface IdTagImportRow {
  idTag: string;
  status: 'Accepted' | 'Blocked' | 'Expired' | 'Invalid';
  expiryDate?: string;
  parentIdTag?: string;
  billing?: BillingProfile;
  tariffId?: string;
}

/** A row that failed validation: 1-based line number in the file (the header is line 1) and the column. */
export interface CsvRowError {
  row: number;
  field: string;
  message: string;
}

/** The columns an idTag CSV may have; `idTag` and `status` are required, the rest may be empty. */
export const ID_TAG_CSV_COLUMNS = ['idTag', 'status', 'expiryDate', 'parentIdTag', 'billingKind', 'tier', 'membershipId', 'accountId', 'partnerId', 'channel', 'reason', 'tariffId'] as const;

const RowSchema = z.strictObject({
  idTag: z.string().min(1, 'is required').max(20, 'is at most 20 characters (OCPP CiString20)').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  status: z.enum(['Accepted', 'Blocked', 'Expired', 'Invalid'], { error: 'must be Accepted, Blocked, Expired or Invalid' }),
  expiryDate: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with offset, e.g. 2027-12-31T23:59:59Z' }).optional(),
  parentIdTag: z.string().min(1).max(20, 'is at most 20 characters').optional(),
  tariffId: z.string().min(1).max(36).optional(),
});

/**
 * Splits CSV text into rows of cells (RFC 4180: quoted cells, doubled quotes, CRLF or LF). Pure.
 */
export function splitCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/**
 * Parses an idTag CSV (header row naming the columns of ID_TAG_CSV_COLUMNS, any order). Every row
 * is validated; errors name the row and the column, and the import is all or nothing: a caller
 * writes `rows` only when `errors` is empty. Duplicate idTags (case-insensitive) are errors.
 */
export function parseIdTagCsv(text: string): { rows: IdTagImportRow[]; errors: CsvRowError[] } {
  const lines = splitCsv(text.replace(/^\uFEFF/, ''));
  const errors: CsvRowError[] = [];
  const header = (lines[0] ?? []).map((h) => h.trim());
  for (const [index, name] of header.entries()) {
    if (!(ID_TAG_CSV_COLUMNS as readonly string[]).includes(name)) errors.push({ row: 1, field: name || `column ${index + 1}`, message: `unknown column (known: ${ID_TAG_CSV_COLUMNS.join(', ')})` });
  }
  for (const required of ['idTag', 'status']) if (!header.includes(required)) errors.push({ row: 1, field: required, message: 'required column is missing' });
  if (errors.length) return { rows: [], errors };

  const rows: IdTagImportRow[] = [];
  const seen = new Map<string, number>();
  lines.slice(1).forEach((cells, offset) => {
    const rowNumber = offset + 2;
    if (cells.every((c) => c.trim() === '')) return;
    if (cells.length !== header.length) {
      errors.push({ row: rowNumber, field: '(row)', message: `has ${cells.length} cells, the header ${header.length}` });
      return;
    }
    const values: Record<string, string> = {};
    header.forEach((name, i) => {
      const value = cells[i]!.trim();
      if (value !== '') values[name] = value;
    });
    const { billingKind, tier, membershipId, accountId, partnerId, channel, reason, ...plain } = values;
    const parsed = RowSchema.safeParse(plain);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      errors.push({ row: rowNumber, field: String(issue.path[0] ?? '(row)'), message: issue.message });
      return;
    }
    let billing: BillingProfile | undefined;
    if (billingKind !== undefined) {
      const candidate = { kind: billingKind, ...(tier ? { tier } : {}), ...(membershipId ? { membershipId } : {}), ...(accountId ? { accountId } : {}), ...(partnerId ? { partnerId } : {}), ...(channel ? { channel } : {}), ...(reason ? { reason } : {}) };
      const profile = BillingProfileSchema.safeParse(candidate);
      if (!profile.success) {
        const issue = profile.error.issues[0]!;
        const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path[0] === 'kind' || issue.path.length === 0 ? 'billingKind' : String(issue.path[0]);
        errors.push({ row: rowNumber, field, message: issue.code === 'unrecognized_keys' ? `does not apply to billingKind ${billingKind}` : issue.message });
        return;
      }
      billing = profile.data;
    } else {
      const stray = Object.entries({ tier, membershipId, accountId, partnerId, channel, reason }).find(([, v]) => v !== undefined);
      if (stray) {
        errors.push({ row: rowNumber, field: stray[0], message: 'needs billingKind' });
        return;
      }
    }
    const key = parsed.data.idTag.toUpperCase();
    if (seen.has(key)) {
      errors.push({ row: rowNumber, field: 'idTag', message: `duplicates row ${seen.get(key)} (idTags are case-insensitive)` });
      return;
    }
    seen.set(key, rowNumber);
    rows.push({ ...parsed.data, ...(billing ? { billing } : {}) });
  });
  return { rows, errors };
}
