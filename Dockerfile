# The apigate GitHub Action's image: the static apigate binary, the docker CLI and the compose
# v2 plugin. The runner builds it on every job and mounts the host's Docker socket, so compose
# projects run on the host daemon. No USER (the action must run as root to write the
# workspace and use the socket) and no WORKDIR (the runner sets /github/workspace).

ARG GO_VERSION=1.26
ARG DOCKER_VERSION=27

FROM golang:${GO_VERSION}-bookworm AS build
ARG VERSION=action
COPY go.mod go.sum /src/
RUN cd /src && go mod download
COPY . /src
RUN cd /src && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/apigate ./cmd/apigate \
 && mkdir -p /out/tmp && chmod 1777 /out/tmp

# The official static docker CLI and its compose plugin.
FROM docker:${DOCKER_VERSION}-cli AS cli

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=cli /usr/local/libexec/docker/cli-plugins/docker-compose /usr/local/lib/docker/cli-plugins/docker-compose
COPY --from=build /out/apigate /usr/local/bin/apigate
ENV PATH=/usr/local/bin
ENTRYPOINT ["/usr/local/bin/apigate"]
CMD ["action"]
