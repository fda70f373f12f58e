import { join } from 'node:path';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as CloudFrontFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { REPO_ROOT } from './bundling.ts';
import type { OcppDomain } from './config.ts';
import { acknowledgeGrantWildcards, acknowledgeNag } from './nag.ts';

/** The CloudFront Function (cloudfront-js-2.0, viewer request) moving `/ocpp/{id}` into `?chargePointId={id}`. */
export const OCPP_PATH_REWRITE_FILE = join(REPO_ROOT, 'lib/edge/ocpp-path-rewrite.js');

/** Where charge points connect: `wss://{host}/ocpp/{chargePointId}`. */
export const OCPP_PATH_PREFIX = '/ocpp';

export interface OcppGatewayProps {
  readonly connect: IFunction;
  readonly disconnect: IFunction;
  readonly message: IFunction;
  /** WebSocket stage name; also the first path segment of the callback URL. */
  readonly stageName: string;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention: RetentionDays;
  readonly domain?: OcppDomain;
}

/**
 * The OCPP edge: an API Gateway WebSocket API (`$connect`, `$disconnect`, and `$default` with a
 * route response, so the frame the handler returns reaches the charge point), its stage, and a
 * CloudFront distribution in front whose CloudFront Function turns the charge point's URL
 * `wss://{host}/ocpp/{chargePointId}` into the stage with `?chargePointId=`: API Gateway passes no
 * path to `$connect`. CloudFront also terminates TLS (OCPP Security Profile 2) on a custom domain.
 */
export class OcppGateway extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly distribution: Distribution;
  readonly pathRewrite: CloudFrontFunction;
  /** `wss://{distribution or custom domain}/ocpp`: append `/{chargePointId}`. */
  readonly ocppUrl: string;
  /** The @connections endpoint handlers post to: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`. */
  readonly callbackUrl: string;

  constructor(scope: Construct, id: string, props: OcppGatewayProps) {
    super(scope, id);

    this.api = new WebSocketApi(this, 'Api', {
      description: 'VoltLedger OCPP 1.6J (charge points connect through CloudFront)',
      connectRouteOptions: { integration: new WebSocketLambdaIntegration('Connect', props.connect) },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('Disconnect', props.disconnect) },
      // OCPP-J frames are JSON arrays, so no route selection matches and every frame takes $default.
      defaultRouteOptions: { integration: new WebSocketLambdaIntegration('Message', props.message), returnResponse: true },
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTimeEpoch',
            eventType: '$context.eventType',
            routeKey: '$context.routeKey',
            connectionId: '$context.connectionId',
            status: '$context.status',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            error: '$context.error.message',
            sourceIp: '$context.identity.sourceIp',
          }),
        ),
      },
    });
    this.callbackUrl = this.stage.callbackUrl;

    this.pathRewrite = new CloudFrontFunction(this, 'PathRewrite', {
      comment: 'OCPP: /ocpp/{chargePointId} -> stage ?chargePointId={chargePointId}',
      runtime: FunctionRuntime.JS_2_0,
      // Read at synth time: the file is the single source of the rewrite.
      code: FunctionCode.fromFile({ filePath: OCPP_PATH_REWRITE_FILE }),
    });

    const stack = Stack.of(this);
    const apiDomain = `${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'VoltLedger OCPP endpoint',
      priceClass: PriceClass.PRICE_CLASS_100,
      ...(props.domain
        ? {
            domainNames: [props.domain.domainName],
            certificate: Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
      defaultBehavior: {
        // The function rewrites the URI to "/"; the origin path puts the stage in front of it.
        origin: new HttpOrigin(apiDomain, { originPath: `/${this.stage.stageName}`, protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        // Nothing is cacheable, and with caching disabled the all-viewer policy may forward the
        // Authorization header (OCPP Basic auth) and the Sec-WebSocket-* headers. Host must not be
        // forwarded: API Gateway routes on its own host name.
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [{ function: this.pathRewrite, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
    });
    this.ocppUrl = `wss://${props.domain?.domainName ?? this.distribution.distributionDomainName}${OCPP_PATH_PREFIX}`;

    acknowledgeNag(
      this.api,
      'AwsSolutions-APIG4',
      'OCPP charge points authenticate with HTTP Basic auth (Security Profile 1/2), checked by the $connect function against the registry; API Gateway authorizers cannot verify those passwords. Other routes only carry frames of connections $connect accepted.',
    );
    acknowledgeNag(
      this.distribution,
      'AwsSolutions-CFR1',
      'Charge points stand wherever the operator has sites; geo restriction is an operator decision, not a default.',
    );
    acknowledgeNag(
      this.distribution,
      'AwsSolutions-CFR2',
      'A WAF web ACL is optional and priced per request; charge points authenticate on $connect and the stage is throttled. Attach a web ACL by account policy where required.',
    );
    acknowledgeNag(
      this.distribution,
      'AwsSolutions-CFR3',
      'The WebSocket stage access log records every connect, message and disconnect; CloudFront standard logs would only repeat the upgrade request.',
    );
    if (!props.domain) {
      acknowledgeNag(
        this.distribution,
        'AwsSolutions-CFR4',
        'Without a custom domain the distribution uses the default *.cloudfront.net certificate, whose minimum protocol version cannot be set; with ocppDomain it enforces TLSv1.2_2021.',
      );
    }
  }

  /** execute-api:ManageConnections on this API's stage only (post frames to charge points). */
  grantManageConnections(grantee: IGrantable & IConstruct): void {
    acknowledgeGrantWildcards(
      grantee,
      this.stage.grantManagementApiAccess(grantee),
      'execute-api:ManageConnections on any connection of this one stage: connection ids exist only at run time.',
    );
  }
}
