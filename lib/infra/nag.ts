import { Stack, Validations } from 'aws-cdk-lib';
import type { Grant } from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag AwsSolutions finding on a construct and everything under it, e.g.
 * `AwsSolutions-CFR1` or `AwsSolutions-IAM5[Resource::...]`. The id is qualified with the plugin's
 * namespace (`AwsSolutions::`), as cdk-nag v3 reports it; an unqualified id would be taken for an
 * annotation id.
 */
export function acknowledgeNag(scope: IConstruct, findingId: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${findingId}`, reason });
}

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for each wildcard resource given, naming the
 * resource exactly as cdk-nag renders it (v3 acknowledges findings one by one, by their rendered
 * id), so only these resources are excused and any other wildcard still fails the synth.
 */
export function acknowledgeWildcardResources(scope: IConstruct, resources: readonly string[], reason: string): void {
  const stack = Stack.of(scope);
  for (const resource of resources) {
    const rendered = flattenCfnReference(stack.resolve(resource));
    if (!rendered.includes('*')) continue;
    acknowledgeNag(scope, `AwsSolutions-IAM5[Resource::${rendered}]`, reason);
  }
}

/** {@link acknowledgeWildcardResources} for the resources a grant added to the grantee's policy. */
export function acknowledgeGrantWildcards(scope: IConstruct, grant: Grant, reason: string): void {
  acknowledgeWildcardResources(
    scope,
    grant.principalStatements.flatMap((statement) => statement.resources),
    reason,
  );
}
