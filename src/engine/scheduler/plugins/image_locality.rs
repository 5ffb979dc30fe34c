//! ImageLocality: nodes that already hold the pod's images score higher,
//! scaled by the images' sizes and by how widely they are spread (an image
//! every node has says little about any one of them).

use super::{ScoreContext, ScorePlugin};
use crate::engine::scheduler::framework::{normalized_image_name, NodeInfo, PodInfo, MAX_NODE_SCORE};

pub const NAME: &str = "ImageLocality";
/// Weight in the default profile.
pub const WEIGHT: i64 = 1;
const MB: i64 = 1024 * 1024;
/// Below this sum of image sizes a node scores 0.
pub const MIN_THRESHOLD: i64 = 23 * MB;
/// Per container, the sum at which a node scores 100.
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// `scaledImageScore`: the image's size times the share of nodes holding it.
pub fn scaled_image_score(size: i64, nodes_with_image: u32, total_nodes: usize) -> i64 {
    if total_nodes == 0 {
        return 0;
    }
    let spread = nodes_with_image as f64 / total_nodes as f64;
    (size as f64 * spread) as i64
}

/// `calculatePriority`: the sum clamped between the thresholds, scaled to 0..=100.
pub fn calculate_priority(sum: i64, containers: usize) -> i64 {
    let max_threshold = MAX_CONTAINER_THRESHOLD * containers as i64;
    if max_threshold <= MIN_THRESHOLD {
        return 0;
    }
    let sum = sum.clamp(MIN_THRESHOLD, max_threshold);
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD)
}

/// ImageLocality has no PreScore in 1.33, so it is never skipped; the
/// per-pod preparation here only looks up how many nodes hold each image.
#[derive(Default)]
pub struct ImageLocality {
    /// The pod's images (normalized, one per container) that some node holds,
    /// with the number of nodes holding each.
    images: Vec<(String, u32)>,
    containers: usize,
    total_nodes: usize,
}

impl ScorePlugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn weight(&self) -> i64 {
        WEIGHT
    }
    fn pre_score(&mut self, pod: &PodInfo, ctx: &ScoreContext) -> bool {
        self.images.clear();
        self.containers = pod.container_count();
        self.total_nodes = ctx.cache.node_count();
        for image in pod.images() {
            let name = normalized_image_name(image);
            let nodes = ctx.cache.image_node_count(&name);
            if nodes > 0 {
                self.images.push((name.into_owned(), nodes));
            }
        }
        true
    }
    fn score(&self, _pod: &PodInfo, node: &NodeInfo, _ctx: &ScoreContext) -> i64 {
        let sum: i64 = self
            .images
            .iter()
            .filter_map(|(name, nodes)| node.images.get(name).map(|size| scaled_image_score(*size, *nodes, self.total_nodes)))
            .sum();
        calculate_priority(sum, self.containers)
    }
    fn all_zero(&self) -> bool {
        self.images.is_empty()
    }
    fn score_all(&self, pod: &PodInfo, ctx: &ScoreContext, out: &mut Vec<i64>) {
        if self.images.is_empty() {
            // No node holds any of the images: every node scores 0.
            out.resize(ctx.feasible.len(), 0);
            return;
        }
        out.extend(ctx.feasible.iter().map(|n| self.score(pod, n, ctx)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_table() {
        // One container: 23 MiB → 0, 1000 MiB → 100, halfway → 50.
        let cases = [
            (0, 1, 0),
            (MIN_THRESHOLD, 1, 0),
            (MAX_CONTAINER_THRESHOLD, 1, 100),
            (5 * MAX_CONTAINER_THRESHOLD, 1, 100),
            ((MIN_THRESHOLD + MAX_CONTAINER_THRESHOLD) / 2, 1, 50),
            (MAX_CONTAINER_THRESHOLD, 2, 49),
        ];
        for (sum, containers, want) in cases {
            assert_eq!(calculate_priority(sum, containers), want, "{sum} over {containers}");
        }
        // An image on 1 of 4 nodes counts a quarter of its size.
        assert_eq!(scaled_image_score(400 * MB, 1, 4), 100 * MB);
        assert_eq!(scaled_image_score(400 * MB, 4, 4), 400 * MB);
    }
}
