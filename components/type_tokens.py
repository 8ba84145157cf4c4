"""The type token of every component, defined once.

A token is part of each child resource's URN: changing one replaces what is deployed. The
tools read them from here (stateful components, parity's pieces) without importing the
components, so this module imports nothing."""

from __future__ import annotations

AWS_ACCESS_LOGS = "platform:aws:AccessLogs"
AWS_ALARMS = "platform:aws:Alarms"
AWS_CLUSTER = "platform:aws:Cluster"
AWS_DATABASE = "platform:aws:Database"
AWS_DATABASE_BACKUPS = "platform:aws:DatabaseBackups"
AWS_IMAGE_REPOSITORY = "platform:aws:ImageRepository"
AWS_LOAD_BALANCER = "platform:aws:LoadBalancer"
AWS_NETWORK = "platform:aws:Network"
AWS_SECRET_STORE = "platform:aws:SecretStore"
AWS_SERVICE = "platform:aws:Service"
AWS_UPTIME_CHECKS = "platform:aws:UptimeChecks"
DOCKER_DATABASE = "platform:docker:Database"
DOCKER_DATABASE_BACKUP = "platform:docker:DatabaseBackup"
DOCKER_DATABASE_EXPORTERS = "platform:docker:DatabaseExporters"
DOCKER_NETWORK = "platform:docker:Network"
DOCKER_PROMETHEUS = "platform:docker:Prometheus"
DOCKER_SERVICE = "platform:docker:Service"
POSTGRES_DATABASE_ACCESS = "platform:postgres:DatabaseAccess"
SECRET_VALUES = "platform:secrets:SecretValues"
