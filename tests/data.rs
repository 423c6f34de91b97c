//! The real datasets are what scripts/fetch-data promises.

mod common;

#[test]
fn mnist_and_fashion_mnist_have_the_published_label_counts() {
    let data = common::fashion_data();
    assert_eq!(data.mnist.train.len(), 60_000);
    assert_eq!(data.mnist.test.len(), 10_000);
    assert_eq!(data.mnist.train.side, 28);
    assert_eq!(data.mnist.train.histogram(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(data.fashion_train.histogram(), [6000; 10]);
    // Published pixel statistics: MNIST 0.1307 ± 0.3081, FashionMNIST 0.2860 ± 0.3530.
    let (m, f) = (data.mnist.train.moments(), data.fashion_train.moments());
    assert!((m.mean - 0.1307).abs() < 1e-3 && (m.std - 0.3081).abs() < 1e-3, "{m:?}");
    assert!((f.mean - 0.2860).abs() < 1e-3 && (f.std - 0.3530).abs() < 1e-3, "{f:?}");
}
