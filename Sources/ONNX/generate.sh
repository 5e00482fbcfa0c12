#!/usr/bin/env bash
# Regenerates onnx.pb.swift from onnx.proto (copied from the onnx 1.23.2 Python package's
# onnx/onnx.proto). Run once when the proto changes; the build never runs protoc.
#   apt-get install protobuf-compiler
#   git clone https://github.com/apple/swift-protobuf && cd swift-protobuf && git checkout 1.39.0 \
#     && swift build -c release --product protoc-gen-swift
#   PROTOC_GEN_SWIFT=.../swift-protobuf/.build/release/protoc-gen-swift bash Sources/ONNX/generate.sh
set -euo pipefail
cd "$(dirname "$0")"
protoc --plugin=protoc-gen-swift="${PROTOC_GEN_SWIFT:?path of protoc-gen-swift}" \
  --swift_opt=Visibility=Public --swift_out=. onnx.proto
