import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { validateRequest } from '../../functions/ocpp/domain/validation.ts';
import {
  type BillingProfile,
  type MeterValuesReq,
  parseBillingProfile,
  parseTariff,
  type PricedSession,
  priceCdr,
  priceSession,
  type StartTransactionReq,
  type StatusNotificationReq,
  type StopTransactionReq,
} from '../../functions/pricing/domain/index.ts';
import { ValidationError } from '../../functions/shared/errors.ts';

const USAGE = `voltledger price --tariff TARIFF.json (--cdr CDR.json | --session SESSION.json)
                 [--time-zone Europe/Berlin] [--billing-profile PROFILE.json]

Prices an OCPI 2.2.1 CDR (its charging periods as given) or an OCPP 1.6 session under an OCPI
2.2.1 tariff (with VoltLedger extensions) and prints the priced session as JSON: totals in OCPI
CDR terms ({ "excl_vat", "incl_vat" } decimal strings), totalMinor, lines, periods, warnings.

  --tariff FILE           OCPI 2.2.1 Tariff JSON
  --cdr FILE              OCPI 2.2.1 CDR JSON
  --session FILE          { "startTransaction": {...}, "meterValues": [...],
                            "statusNotifications": [...], "stopTransaction": {...} }
                          (OCPP 1.6 request payloads; stopTransaction may be omitted)
  --time-zone ZONE        IANA time zone of the location (default UTC)
  --billing-profile FILE  { "kind": "retail" | "member" | "fleet" | "roaming" | "free", ... }
                          (sessions only; default retail)

Exit status: 0 priced, 1 unreadable or invalid input, 2 usage error.`;

class InputError extends Error {}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new InputError(`cannot read the ${what} file ${file}: ${reason}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`the ${what} file ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Wraps a domain validation error with the file it came from. */
function inFile<T>(file: string, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ValidationError) throw new InputError(`${what} file ${file}: ${error.message}`);
    throw error;
  }
}

interface SessionFile {
  startTransaction: StartTransactionReq;
  meterValues: MeterValuesReq[];
  statusNotifications: StatusNotificationReq[];
  stopTransaction?: StopTransactionReq;
}

const SESSION_KEYS = ['startTransaction', 'meterValues', 'statusNotifications', 'stopTransaction'];

/** Checks the session file's shape and each message against the official OCPP 1.6 schemas. */
function checkSessionFile(json: unknown, file: string): SessionFile {
  const fail = (message: string) => {
    throw new InputError(`session file ${file}: ${message}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('expected a JSON object') as never;
  const record = json as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!SESSION_KEYS.includes(key)) fail(`unknown field "${key}" (expected ${SESSION_KEYS.join(', ')})`);
  const check = (action: string, payload: unknown, path: string) => {
    const outcome = validateRequest(action, payload);
    if (!outcome.ok) fail(`${path} is not a valid ${action}.req: ${outcome.description}`);
  };
  if (record.startTransaction === undefined) fail('startTransaction is required');
  check('StartTransaction', record.startTransaction, 'startTransaction');
  for (const key of ['meterValues', 'statusNotifications']) {
    if (record[key] !== undefined && !Array.isArray(record[key])) fail(`${key} must be an array`);
  }
  const meterValues = (record.meterValues ?? []) as unknown[];
  const statusNotifications = (record.statusNotifications ?? []) as unknown[];
  meterValues.forEach((message, index) => {
    check('MeterValues', message, `meterValues[${index}]`);
  });
  statusNotifications.forEach((message, index) => {
    check('StatusNotification', message, `statusNotifications[${index}]`);
  });
  if (record.stopTransaction !== undefined) check('StopTransaction', record.stopTransaction, 'stopTransaction');
  return {
    startTransaction: record.startTransaction as StartTransactionReq,
    meterValues: meterValues as MeterValuesReq[],
    statusNotifications: statusNotifications as StatusNotificationReq[],
    ...(record.stopTransaction === undefined ? {} : { stopTransaction: record.stopTransaction as StopTransactionReq }),
  };
}

/** `voltledger price`: see {@link USAGE}. Returns the exit status. */
export async function run(argv: string[]): Promise<number> {
  let values: { tariff?: string; cdr?: string; session?: string; 'time-zone'?: string; 'billing-profile'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        tariff: { type: 'string' },
        cdr: { type: 'string' },
        session: { type: 'string' },
        'time-zone': { type: 'string' },
        'billing-profile': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`voltledger price: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const usageError = !values.tariff
    ? '--tariff is required'
    : !values.cdr === !values.session
      ? 'give exactly one of --cdr or --session'
      : values.cdr && values['billing-profile']
        ? '--billing-profile applies to --session only (a CDR is priced as given)'
        : null;
  if (usageError) {
    console.error(`voltledger price: ${usageError}\n\n${USAGE}`);
    return 2;
  }

  try {
    const tariffFile = values.tariff!;
    const tariffJson = await readJson(tariffFile, 'tariff');
    const tariff = inFile(tariffFile, 'tariff', () => parseTariff(tariffJson));
    const timeZone = values['time-zone'] ?? 'UTC';
    if (!values['time-zone']) console.error('voltledger price: no --time-zone given, time-of-day restrictions are read in UTC');
    try {
      new Intl.DateTimeFormat('en', { timeZone });
    } catch {
      throw new InputError(`--time-zone ${timeZone} is not an IANA time zone (such as Europe/Berlin)`);
    }

    let priced: PricedSession;
    if (values.cdr) {
      const cdrFile = values.cdr;
      const cdr = await readJson(cdrFile, 'CDR');
      priced = inFile(cdrFile, 'CDR', () => priceCdr(tariff, cdr, timeZone));
    } else {
      const sessionFile = values.session!;
      const session = checkSessionFile(await readJson(sessionFile, 'session'), sessionFile);
      let billingProfile: BillingProfile | undefined;
      if (values['billing-profile']) {
        const profileFile = values['billing-profile'];
        const profileJson = await readJson(profileFile, 'billing profile');
        billingProfile = inFile(profileFile, 'billing profile', () => parseBillingProfile(profileJson));
      }
      priced = inFile(sessionFile, 'session', () => priceSession({ tariff, timeZone, ...(billingProfile ? { billingProfile } : {}), ...session }));
    }
    console.log(JSON.stringify(priced, null, 2));
    return 0;
  } catch (error) {
    if (error instanceof InputError) {
      console.error(`voltledger price: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

// `node --import tsx bin/commands/price.ts ...` runs it without the voltledger entry point.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
