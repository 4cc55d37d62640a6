# The aiperf binary in a small image, for `aiperf kube` (pass it as --image).
#
#   docker build -t <registry>/aiperf:<tag> .
#
# Build stage: the release binary. The runtime stage is distroless (glibc, CA certificates,
# no shell) and runs as the unprivileged user 65532, which the Kubernetes pods also use.
FROM rust:1.91-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p aiperf \
 && cp target/release/aiperf /aiperf

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /aiperf /usr/local/bin/aiperf
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/aiperf"]
CMD ["--help"]
