import { type ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { ChargePointOfflineError } from '../../shared/errors.ts';
import type { ConnectionPort } from '../domain/ports.ts';

/** Sends frames to charge points through API Gateway's @connections API. */
export class ApiGatewayConnections implements ConnectionPort {
  /** The client, or a factory called on the first send (a function that never sends needs no endpoint). */
  constructor(private readonly client: ApiGatewayManagementApiClient | (() => ApiGatewayManagementApiClient)) {}

  async send(connectionId: string, frame: string): Promise<void> {
    try {
      const client = typeof this.client === 'function' ? this.client() : this.client;
      await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(frame) }));
    } catch (error) {
      if (error instanceof GoneException || (error as { name?: string }).name === 'GoneException') {
        throw new ChargePointOfflineError(`connection ${connectionId} is gone: the charge point is offline`, { cause: error });
      }
      throw error;
    }
  }
}
