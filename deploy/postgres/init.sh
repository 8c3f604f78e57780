#!/bin/bash
# Runs once, when the postgres volume is first initialised
# (/docker-entrypoint-initdb.d): one role and one database per service, each
# database owned by its role and closed to everyone else. Passwords come from
# the container environment (deploy/.env via docker-compose.yml).
set -euo pipefail

create_service_database() {
    local name="$1" password="$2"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v name="$name" -v password="$password" <<-'EOSQL'
	CREATE ROLE :"name" LOGIN PASSWORD :'password';
	CREATE DATABASE :"name" OWNER :"name";
	REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
	EOSQL
}

create_service_database products "${PRODUCTS_DB_PASSWORD:?PRODUCTS_DB_PASSWORD is required}"
create_service_database orders "${ORDERS_DB_PASSWORD:?ORDERS_DB_PASSWORD is required}"
