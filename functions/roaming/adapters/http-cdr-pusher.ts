import type { PushAnswer } from '../domain/delivery.ts';
import type { CdrPusher } from '../domain/ports.ts';

/**
 * POSTs CDRs over HTTP as OCPI 2.2.1 prescribes: JSON body, `Authorization: Token <base64(token)>`
 * (transport_and_format: the credentials token, UTF-8, Base64), and reads the response envelope
 * `{ data, status_code, status_message, timestamp }` and the `Location` header. Never throws for a
 * bad answer: every outcome is an answer to record.
 */
export class HttpCdrPusher implements CdrPusher {
  constructor(private readonly options: { timeoutMs?: number; fetch?: typeof fetch } = {}) {}

  async push(url: string, token: string, cdrJson: string): Promise<PushAnswer> {
    const doFetch = this.options.fetch ?? fetch;
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Token ${Buffer.from(token, 'utf8').toString('base64')}`,
          'x-request-id': crypto.randomUUID(),
        },
        body: cdrJson,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      return { error: (error as Error).name === 'TimeoutError' ? 'no answer within the timeout' : String((error as Error).message ?? error) };
    }
    const text = await response.text().catch(() => '');
    let ocpiStatus: number | undefined;
    let message: string | undefined;
    try {
      const body = JSON.parse(text) as { status_code?: unknown; status_message?: unknown };
      if (typeof body.status_code === 'number') ocpiStatus = body.status_code;
      if (typeof body.status_message === 'string') message = body.status_message.slice(0, 500);
    } catch {
      message = text.slice(0, 200) || undefined;
    }
    const location = response.headers.get('location') ?? undefined;
    return { httpStatus: response.status, ...(ocpiStatus !== undefined ? { ocpiStatus } : {}), ...(message ? { message } : {}), ...(location ? { location } : {}) };
  }
}
