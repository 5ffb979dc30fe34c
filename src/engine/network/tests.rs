//! End-to-end checks of the network on a booted cluster.
