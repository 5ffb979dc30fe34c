//! Controllers of the kube-controller-manager.
