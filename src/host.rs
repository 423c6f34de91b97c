//! The host's side of device work: values to and from the device (reads never block, so they work
//! on WebGPU in a browser), yielding to the event loop between steps, and the cancel check. A leaf:
//! it uses nothing else of the crate's but its error type.

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::report::{Observer, RunError};

/// Reads a float tensor's values without blocking.
pub async fn read_floats<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, RunError> {
    let data = t.into_data_async().await.map_err(|e| RunError::Device(format!("{e:?}")))?;
    // f32 values (gradients: a million a step) come out without a conversion, often without a copy.
    if data.dtype() == burn::tensor::DType::F32 {
        return data.try_into_vec::<f32>().map_err(|e| RunError::Device(format!("{e:?}")));
    }
    Ok(data.iter::<f32>().collect())
}

/// Reads an integer tensor's values without blocking.
pub async fn read_ints<const D: usize>(t: Tensor<D, Int>) -> Result<Vec<i64>, RunError> {
    let data = t.into_data_async().await.map_err(|e| RunError::Device(format!("{e:?}")))?;
    Ok(data.iter::<i64>().collect())
}

/// Lets the host run between steps: in a browser this is where a cancel message gets through.
#[cfg(target_family = "wasm")]
pub async fn yield_now() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

#[cfg(not(target_family = "wasm"))]
pub async fn yield_now() {}

/// Stops a run the observer says was cancelled.
pub fn check(observer: &impl Observer) -> Result<(), RunError> {
    if observer.cancelled() { Err(RunError::Cancelled) } else { Ok(()) }
}

/// Builds a float tensor from a flat vector (shared by the toy experiment and the attacks).
pub fn tensor2(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}
