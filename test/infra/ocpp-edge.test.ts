import { readFileSync } from 'node:fs';
import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { OCPP_PATH_REWRITE_FILE } from '../../lib/infra/ocpp-gateway.ts';
import { synthesize, type SynthesizedApp } from './support.ts';

type Resources = Record<string, { Type: string; Properties: any }>;

let synth: SynthesizedApp;
let resources: Resources;
beforeAll(() => {
  synth = synthesize();
  resources = synth.application.toJSON().Resources;
});

describe('OCPP edge', () => {
  const logicalId = (element: unknown) => synth.stacks.app.getLogicalId(element as CfnElement);
  const functionId = (name: string) => logicalId(synth.stacks.app.functions[name]!.fn.node.defaultChild);
  const apiId = () => logicalId(synth.stacks.app.ocpp.api.node.defaultChild);
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  describe('WebSocket API', () => {
    it('has exactly $connect, $disconnect and $default, each a Lambda proxy integration of its function', () => {
      const routes = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => r.Properties.ApiId.Ref === apiId());
      const targets = Object.fromEntries(
        routes.map(([, route]) => {
          const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref as string;
          const integration = resources[integrationId]!.Properties;
          expect(integration.IntegrationType).toBe('AWS_PROXY');
          return [route.Properties.RouteKey, JSON.stringify(integration.IntegrationUri)];
        }),
      );
      expect(Object.keys(targets).sort()).toEqual(['$connect', '$default', '$disconnect']);
      expect(targets.$connect).toContain(functionId('connect'));
      expect(targets.$disconnect).toContain(functionId('disconnect'));
      expect(targets.$default).toContain(functionId('message'));
    });

    it("sends the $default handler's returned body back to the charge point (route response)", () => {
      const [[defaultRouteId, defaultRoute]] = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => r.Properties.RouteKey === '$default') as [[string, any]];
      expect(defaultRoute.Properties.RouteResponseSelectionExpression).toBe('$default');
      synth.application.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
        ApiId: { Ref: apiId() },
        RouteId: { Ref: defaultRouteId },
        RouteResponseKey: '$default',
      });
    });

    it('deploys to a throttled stage named after the deployment stage, with access logs', () => {
      synth.application.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        ApiId: { Ref: apiId() },
        StageName: 'dev',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
        AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('connectionId') },
      });
    });

    it("gives every function the stage's @connections endpoint as OCPP_CONNECTIONS_ENDPOINT", () => {
      const expected = {
        'Fn::Join': ['', ['https://', { Ref: apiId() }, '.execute-api.eu-central-1.', { Ref: 'AWS::URLSuffix' }, '/dev']],
      };
      for (const name of Object.keys(synth.stacks.app.functions)) {
        expect(resources[functionId(name)]!.Properties.Environment.Variables.OCPP_CONNECTIONS_ENDPOINT, name).toEqual(expected);
      }
    });
  });

  describe('CloudFront', () => {
    it("runs lib/edge/ocpp-path-rewrite.js, verbatim, as a cloudfront-js-2.0 viewer-request function", () => {
      const [[functionLogicalId, fn]] = ofType('AWS::CloudFront::Function') as [[string, any]];
      expect(fn.Properties.FunctionCode).toBe(readFileSync(OCPP_PATH_REWRITE_FILE, 'utf8'));
      expect(fn.Properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
      synth.application.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: {
          DefaultCacheBehavior: {
            FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionLogicalId, 'FunctionARN'] } }],
          },
        },
      });
    });

    it("forwards to the WebSocket API's execute-api domain over HTTPS, under the stage path", () => {
      const [[, distribution]] = ofType('AWS::CloudFront::Distribution') as [[string, any]];
      const [origin] = distribution.Properties.DistributionConfig.Origins;
      expect(origin.DomainName).toEqual({
        'Fn::Join': ['', [{ Ref: apiId() }, '.execute-api.eu-central-1.', { Ref: 'AWS::URLSuffix' }]],
      });
      // The function rewrites the URI to "/", the origin path supplies the stage.
      expect(origin.OriginPath).toBe('/dev');
      expect(origin.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
    });

    it('caches nothing and forwards every viewer header but Host (Authorization, Sec-WebSocket-*)', () => {
      synth.application.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: {
          DefaultCacheBehavior: {
            CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled
            OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // Managed-AllViewerExceptHostHeader
            ViewerProtocolPolicy: 'https-only',
          },
        },
      });
    });

    it('publishes wss://<distribution>/ocpp and the stage URL as outputs', () => {
      const outputs = synth.application.toJSON().Outputs;
      const distributionId = logicalId(synth.stacks.app.ocpp.distribution.node.defaultChild);
      expect(outputs.OcppUrl.Value).toEqual({ 'Fn::Join': ['', ['wss://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }, '/ocpp']] });
      expect(JSON.stringify(outputs.OcppWebSocketStageUrl.Value)).toContain('wss://');
      expect(JSON.stringify(outputs.AdminApiUrl.Value)).toContain('/admin');
    });

    it('serves a custom domain with its certificate and TLS 1.2 when one is configured', () => {
      const custom = synthesize({
        config: { ocppDomain: { domainName: 'ocpp.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' } },
      });
      custom.application.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: {
          Aliases: ['ocpp.example.com'],
          ViewerCertificate: {
            AcmCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
            MinimumProtocolVersion: 'TLSv1.2_2021',
            SslSupportMethod: 'sni-only',
          },
        },
      });
      expect(custom.application.toJSON().Outputs.OcppUrl.Value).toBe('wss://ocpp.example.com/ocpp');
    });
  });

  describe('OCPP message function', () => {
    it('has no provisioned concurrency by default and API Gateway invokes the function itself', () => {
      synth.application.resourceCountIs('AWS::Lambda::Alias', 0);
    });

    it('keeps the configured number of instances warm on an alias, which API Gateway then invokes', () => {
      const warm = synthesize({ config: { messageProvisionedConcurrency: 3 } });
      const aliases = Object.entries(warm.application.toJSON().Resources as Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Alias');
      expect(aliases).toHaveLength(1);
      const [[aliasId, alias]] = aliases as [[string, any]];
      expect(alias.Properties.ProvisionedConcurrencyConfig).toEqual({ ProvisionedConcurrentExecutions: 3 });
      const warmResources = warm.application.toJSON().Resources as Resources;
      const defaultRoute = Object.values(warmResources).find((r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === '$default')!;
      const integrationId = defaultRoute.Properties.Target['Fn::Join'][1][1].Ref as string;
      expect(JSON.stringify(warmResources[integrationId]!.Properties.IntegrationUri)).toContain(`"Ref":"${aliasId}"`);
    });
  });
});

describe('Admin API', () => {
  it('requires IAM authorization on every route', () => {
    const routes = Object.values(resources).filter(
      (r) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey.includes('/admin'),
    );
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      'GET /admin',
      'GET /admin/{proxy+}',
      'POST /admin',
      'POST /admin/{proxy+}',
      'PUT /admin',
      'PUT /admin/{proxy+}',
    ]);
    for (const route of routes) expect(route.Properties.AuthorizationType, route.Properties.RouteKey).toBe('AWS_IAM');
  });
});

describe('Idle-session sweep', () => {
  it('runs the sweep function every minute through EventBridge Scheduler', () => {
    const sweepId = synth.stacks.app.getLogicalId(synth.stacks.app.functions.sweep!.fn.node.defaultChild as CfnElement);
    synth.application.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: { 'Fn::GetAtt': [sweepId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } },
    });
  });
});
