//! Synchronous data parallelism. A run can be split over replicas: each holds the same model and
//! an interleaved shard of every dataset (image `i` lives on replica `i % size`), trains on its
//! share of each batch, and the replicas sum their gradients and counts at every step, so they
//! take the same optimizer steps and stay identical. In a browser each replica is a Web Worker
//! with its own wasm instance, and the sums travel as messages: no shared memory, so no
//! cross-origin isolation is needed. Natively (and on WebGPU) a run has one replica, [`Alone`],
//! for which every operation here is free and changes nothing.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;

use crate::data::{ImageSet, Moments};
use crate::report::RunError;

/// The replicas a run is split over, seen from one of them. Every replica must make the same calls
/// in the same order; each combines the values of all replicas, added in rank order, so that every
/// replica receives the same bits.
#[allow(async_fn_in_trait)] // used through generics only; a browser's futures are not Send
pub trait Group {
    /// This replica's index, in `0..size`.
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Element-wise sum of `values` over the replicas (counts, statistics).
    async fn sum(&mut self, values: Vec<f64>) -> Result<Vec<f64>, RunError>;
    /// Element-wise mean of `values` over the replicas, each weighted by its `weight`
    /// (gradients, each a mean over `weight` images).
    async fn mean(&mut self, values: Vec<f32>, weight: f32) -> Result<Vec<f32>, RunError>;
}

/// The element-wise sum of the replicas' `parts`, added in rank order: what [`Group::sum`]
/// returns, computed alike by every replica from every replica's values.
pub fn add(parts: &[&[f64]]) -> Vec<f64> {
    let mut total = vec![0.0; parts.first().map_or(0, |p| p.len())];
    for part in parts {
        total.iter_mut().zip(*part).for_each(|(t, v)| *t += v);
    }
    total
}

/// The mean of the replicas' `parts` weighted by `weights`, added in rank order: what
/// [`Group::mean`] returns, computed alike by every replica from every replica's values. It is
/// written over the first part (a gradient is megabytes: no other buffer).
pub fn weighted_mean(mut parts: Vec<Vec<f32>>, weights: &[f32]) -> Vec<f32> {
    let total: f32 = weights.iter().sum();
    let Some((mean, rest)) = parts.split_first_mut() else { return Vec::new() };
    let first = weights[0] / total;
    mean.iter_mut().for_each(|m| *m *= first);
    for (part, weight) in rest.iter().zip(&weights[1..]) {
        let share = weight / total;
        mean.iter_mut().zip(part).for_each(|(m, v)| *m += share * v);
    }
    parts.swap_remove(0)
}

/// A run with a single replica.
pub struct Alone;

impl Group for Alone {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    async fn sum(&mut self, values: Vec<f64>) -> Result<Vec<f64>, RunError> {
        Ok(values)
    }
    async fn mean(&mut self, values: Vec<f32>, _weight: f32) -> Result<Vec<f32>, RunError> {
        Ok(values)
    }
}

/// How many of the first `count` items of an interleaved sequence fall to `rank` of `size`: a
/// replica's part of a global subset limit, or of a batch.
pub fn share(count: usize, rank: usize, size: usize) -> usize {
    (count + size - 1 - rank) / size
}

/// A replica's own variant of `seed` (batch order, dropout): the seed itself for the first, so a
/// lone run draws what it always drew.
pub fn replica_seed(seed: u64, rank: usize) -> u64 {
    seed ^ (rank as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// `share` for this replica, of an optional limit (`None`: everything).
pub fn local_limit(limit: Option<usize>, group: &impl Group) -> Option<usize> {
    limit.map(|n| share(n, group.rank(), group.size()))
}

/// The sum of a count over the replicas.
pub async fn total(group: &mut impl Group, local: usize) -> Result<usize, RunError> {
    Ok(group.sum(vec![local as f64]).await?[0] as usize)
}

/// The global sequence whose interleaved shards the replicas hold (labels, predictions).
pub async fn gather(group: &mut impl Group, local: &[u8]) -> Result<Vec<u8>, RunError> {
    if group.size() == 1 {
        return Ok(local.to_vec());
    }
    let (rank, size) = (group.rank(), group.size());
    let len = total(group, local.len()).await?;
    let mut spread = vec![0.0; len];
    local_indices(len, rank, size).zip(local).for_each(|(i, &v)| spread[i] = v as f64);
    Ok(group.sum(spread).await?.into_iter().map(|v| v as u8).collect())
}

/// The interleaving rule, here alone: item `i` of every global sequence (images, labels,
/// predictions) lives on replica `i % size`.
pub fn owner(i: usize, size: usize) -> usize {
    i % size
}

/// Where item `i` of a set sits in replica `rank`'s shard of it (none: another replica holds it).
pub fn shard_position(i: usize, rank: usize, size: usize) -> Option<usize> {
    (owner(i, size) == rank).then_some(i / size)
}

/// The indices, among the first `len`, of the items that fall to `rank` of `size`.
pub fn local_indices(len: usize, rank: usize, size: usize) -> impl Iterator<Item = usize> {
    (0..len).filter(move |&i| owner(i, size) == rank)
}

/// The shard of `items` that falls to this replica.
pub fn local_part<T: Copy>(items: &[T], group: &impl Group) -> Vec<T> {
    local_indices(items.len(), group.rank(), group.size()).map(|i| items[i]).collect()
}

/// The shard of `set` that falls to replica `rank` of `size`, in a store of its own (a replica
/// keeps its shard, not the whole set).
pub fn shard(set: &ImageSet, rank: usize, size: usize) -> ImageSet {
    let indices: Vec<usize> = local_indices(set.len(), rank, size).collect();
    set.subset(&indices, indices.iter().map(|&i| set.labels[i]).collect()).compacted()
}

/// Pixel moments of a set whose shards the replicas hold.
pub async fn moments(set: &ImageSet, group: &mut impl Group) -> Result<Moments, RunError> {
    let sums = group.sum(set.pixel_sums().to_vec()).await?;
    Ok(Moments::from_sums([sums[0], sums[1], sums[2]]))
}

/// Draws the initial values of every parameter of `model` now (burn draws them when a parameter is
/// first used).
pub fn materialize<M: Module>(model: &M) {
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    model.visit(&mut Touch);
}

/// Replaces each replica's gradients, computed on `local` images (the loss is their mean), by the
/// mean gradient over all the replicas' images: the gradient of the whole batch.
pub async fn average_gradients<M: Module>(
    model: &M,
    grads: GradientsParams,
    local: usize,
    device: &Device,
    group: &mut impl Group,
) -> Result<GradientsParams, RunError> {
    if group.size() == 1 {
        return Ok(grads);
    }
    let mut flatten = Flatten { grads, parts: Vec::new(), device };
    model.visit(&mut flatten);
    let values = crate::host::read_floats(Tensor::cat(flatten.parts, 0)).await?;
    let mean = group.mean(values, local as f32).await?;
    let len = mean.len();
    let all = Tensor::from_data(TensorData::new(mean, [len]), device);
    let mut unflatten = Unflatten { all, offset: 0, grads: GradientsParams::new() };
    model.visit(&mut unflatten);
    Ok(unflatten.grads)
}

/// Collects the gradient of every trainable parameter, in the model's visiting order, as one
/// flat tensor each (zeros where a replica has none: its share of the batch was empty).
struct Flatten<'a> {
    grads: GradientsParams,
    parts: Vec<Tensor<1>>,
    device: &'a Device,
}

impl ModuleVisitor for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.is_require_grad() {
            return;
        }
        let n = param.shape().num_elements();
        let part = match self.grads.remove::<D>(param.id) {
            Some(grad) => grad.reshape([n]),
            None => Tensor::zeros([n], self.device),
        };
        self.parts.push(part);
    }
}

/// The inverse of [`Flatten`]: one gradient per parameter, each a view of the averaged values.
struct Unflatten {
    all: Tensor<1>,
    offset: usize,
    grads: GradientsParams,
}

impl ModuleVisitor for Unflatten {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.is_require_grad() {
            return;
        }
        let shape = param.shape();
        let end = self.offset + shape.num_elements();
        self.grads.register::<D>(param.id, self.all.clone().slice(self.offset..end).reshape(shape));
        self.offset = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_combine_in_rank_order() {
        assert_eq!(add(&[&[1.0, 2.0], &[10.0, 20.0], &[100.0, 200.0]]), vec![111.0, 222.0]);
        // Weights 1 and 3: a quarter of the first, three quarters of the second.
        assert_eq!(weighted_mean(vec![vec![1.0, 2.0], vec![3.0, 6.0]], &[1.0, 3.0]), vec![2.5, 5.0]);
    }

    #[test]
    fn shares_of_an_interleaved_sequence_add_up() {
        for size in 1..5 {
            for count in 0..20 {
                let shares: Vec<usize> = (0..size).map(|rank| share(count, rank, size)).collect();
                assert_eq!(shares.iter().sum::<usize>(), count, "{count} over {size}");
                for (rank, &n) in shares.iter().enumerate() {
                    assert_eq!(n, local_indices(count, rank, size).count());
                }
            }
        }
    }
}
