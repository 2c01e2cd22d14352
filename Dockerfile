# Builds the bftkit command. Used by the docker-compose.yml that
# 'bftkit testnet init --compose' writes.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -o /out/bftkit ./cmd/bftkit

FROM debian:bookworm-slim
COPY --from=build /out/bftkit /usr/local/bin/bftkit
ENTRYPOINT ["bftkit"]
