//! Decoding manifests: YAML or JSON documents into typed objects.
