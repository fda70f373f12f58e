import { RemovalPolicy } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeNag } from './nag.ts';

/**
 * Where journal entries are pushed: `{"webhookUrl": "https://...", "signingSecret": "..."}`. Until
 * the operator sets a URL, entries wait as dead letters and `voltledger accounting replay` sends
 * them once it is set.
 */
export class AccountingSecret extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description: 'VoltLedger accounting webhook: {"webhookUrl": "https://...", "signingSecret": "..."}',
      removalPolicy: RemovalPolicy.RETAIN,
      generateSecretString: { secretStringTemplate: JSON.stringify({ webhookUrl: 'https://set-me.invalid' }), generateStringKey: 'signingSecret', excludePunctuation: true, passwordLength: 48 },
    });
    acknowledgeNag(this.secret, 'AwsSolutions-SMG4', 'The signing secret is shared with the accounting system and rolled with it, not by a rotation function.');
  }
}
