"""AWS Backup for the RDS instance: a vault, a daily plan, the selection and the role AWS Backup
assumes.

Why next to RDS's own automated backups: those back point-in-time recovery but publish no
backup-age metric and are deleted with their instance's retention, while AWS Backup counts
completed jobs per vault in CloudWatch (what the `backup_too_old` alarm reads) and keeps its
recovery points in a vault of their own, protected in prod. The rule takes snapshot backups, not
continuous ones: continuous backup would take over RDS's backup retention and fight
`backup_retention_period`, and RDS already gives point-in-time recovery.

The daily job starts after the RDS backup window (02:00-03:00 UTC) and the Sunday maintenance
window (03:30-04:30 UTC): a snapshot job that overlaps either may be delayed or fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.type_tokens import AWS_DATABASE_BACKUPS

SCHEDULE = "cron(0 5 * * ? *)"
"""05:00 UTC daily."""
START_WINDOW_MINUTES = 60
COMPLETION_WINDOW_MINUTES = 8 * 60
MANAGED_POLICIES = {
    "backup": "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "restore": "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
}


@dataclass(frozen=True)
class DatabaseBackupsArgs:
    vault_name: str
    """Also names the plan and the selection, e.g. `platform-prod-db-backups`."""
    database_arn: pulumi.Input[str]
    """The RDS instance the selection backs up."""
    retention_days: int
    """How long a recovery point is kept (the same setting as RDS's backup retention)."""
    protect: bool
    """Prod: `protect` and `retain_on_delete` on the vault (decided by the caller)."""
    force_destroy: bool = False
    """Delete the vault's recovery points with it; AWS refuses to delete a vault holding any.
    Only for a disposable stack, never where a backup may be needed."""


class DatabaseBackups(pulumi.ComponentResource):
    """Outputs: `vault_name` (the alarm's BackupVaultName dimension), `vault_arn`, `plan_id`,
    `role_arn`."""

    vault_name: pulumi.Output[str]
    vault_arn: pulumi.Output[str]
    plan_id: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DatabaseBackupsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(AWS_DATABASE_BACKUPS, name, None, opts)
        self._name = name
        self._args = args
        vault = aws.backup.Vault(
            f"{name}-vault",
            name=args.vault_name,
            force_destroy=args.force_destroy,
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, retain_on_delete=args.protect
            ),
        )
        role, grants = self._role()
        plan = aws.backup.Plan(
            f"{name}-plan",
            name=args.vault_name,
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=vault.name,
                    schedule=SCHEDULE,
                    start_window=START_WINDOW_MINUTES,
                    completion_window=COMPLETION_WINDOW_MINUTES,
                    enable_continuous_backup=False,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=args.retention_days),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.backup.Selection(
            f"{name}-selection",
            name=args.vault_name,
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[args.database_arn],
            # The first job may start as soon as the selection exists; the role must work by then.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        self.vault_name = vault.name
        self.vault_arn = vault.arn
        self.plan_id = plan.id
        self.role_arn = role.arn
        self.register_outputs(
            {
                "vault_name": self.vault_name,
                "vault_arn": self.vault_arn,
                "plan_id": self.plan_id,
                "role_arn": self.role_arn,
            }
        )

    def _role(self) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """The role AWS Backup assumes, with AWS's managed backup and restore policies only."""
        role = aws.iam.Role(
            f"{self._name}-role",
            description=f"AWS Backup for {self._args.vault_name}: snapshots and restores",
            assume_role_policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "backup.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        grants: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{purpose}-policy",
                role=role.id,
                policy_arn=arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for purpose, arn in MANAGED_POLICIES.items()
        ]
        return role, grants
