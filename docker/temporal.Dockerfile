# The Temporal server, its SQL schema tool, the temporal CLI (health checks, namespace) and the Web UI server for
# docker-compose — built from the same Go modules and versions as `npm run start:production` builds them
# (scripts/lib.sh: TEMPORAL_SERVER_VERSION, TEMPORAL_CLI_GO_VERSION; scripts/temporal/ui/go.mod), and run with the
# same config (scripts/temporal/server.yaml, rendered by scripts/temporal/setup.sh). docker/temporal-entrypoint.sh
# sets up the schemas, starts the server and creates the namespace.
FROM golang:1.26-bookworm AS build
# v1.30.9 needs Go >= 1.26.10: the go command fetches this toolchain from the module proxy.
ENV GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0
ARG TEMPORAL_SERVER_VERSION=v1.30.9
ARG TEMPORAL_CLI_VERSION=v1.5.1
RUN go install "go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}" "go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}" \
 && go install "github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}" \
 && cp -r "$(go env GOMODCACHE)/go.temporal.io/server@${TEMPORAL_SERVER_VERSION}/schema/postgresql/v12" /schema
COPY scripts/temporal/ui /src/ui
RUN cd /src/ui && go build -o /go/bin/ui-server github.com/temporalio/ui-server/v2/cmd/server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --create-home temporal
COPY --from=build /go/bin/server /usr/local/bin/temporal-server
COPY --from=build /go/bin/sql /usr/local/bin/temporal-sql-tool
COPY --from=build /go/bin/temporal /go/bin/ui-server /usr/local/bin/
COPY --from=build /schema /etc/temporal/schema
COPY scripts/temporal/server.yaml scripts/temporal/dynamicconfig.yaml scripts/temporal/ui.yaml scripts/temporal/setup.sh /etc/temporal/
COPY docker/temporal-entrypoint.sh /usr/local/bin/
USER temporal
WORKDIR /home/temporal
ENTRYPOINT ["temporal-entrypoint.sh"]
CMD ["server"]
