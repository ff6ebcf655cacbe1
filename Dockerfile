# syntax=docker/dockerfile:1
# Build: docker build -t alertrouter .   (from the repository root)
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
# Pure Go (modernc.org/sqlite): a static binary without cgo.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" \
      -o /out/alertrouter ./cmd/alertrouter \
 && mkdir -p /out/data /out/etc \
 && cp config/default.yml /out/etc/alertrouter.yml

# distroless/static has CA certificates and tzdata (for global.timezone), and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/alertrouter /bin/alertrouter
COPY --from=build /out/etc/alertrouter.yml /etc/alertrouter/alertrouter.yml
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot
EXPOSE 9095
VOLUME /data
ENTRYPOINT ["/bin/alertrouter"]
CMD ["serve", "--config.file=/etc/alertrouter/alertrouter.yml", "--storage.path=/data"]
