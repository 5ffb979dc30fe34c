//! Node agents: kubelet, kube-proxy and the simulated container runtime.
