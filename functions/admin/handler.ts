import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { systemClock } from '../shared/clock.ts';
import { log, logger } from '../shared/logger.ts';
import { createCentralSystem } from '../ocpp/central-system.ts';
import { ocppDepsFromEnv } from '../ocpp/deps.ts';
import { createAdminApi } from './api.ts';
import type { HttpEvent } from './http.ts';

const deps = ocppDepsFromEnv();
const api = createAdminApi({
  stores: deps.stores,
  system: createCentralSystem(deps),
  clock: systemClock,
  log,
  // On AWS the HTTP API's IAM authorizer guards every route; a token is only for the local stack.
  adminToken: process.env.ADMIN_TOKEN || undefined,
});

/** Lambda behind the admin HTTP API (IAM auth). */
export const handler = middy((event: HttpEvent) => api(event)).use(injectLambdaContext(logger));
