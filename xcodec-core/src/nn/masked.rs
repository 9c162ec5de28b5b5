//! Batches of clips of different lengths: each row zero-padded on the right to one length, its own length
//! carried beside it. The helpers here re-establish, between layers, what a row alone would see: zeros (or its
//! own padding) after its last valid step, and statistics over its valid steps only. A row's valid outputs then
//! depend only on its own samples and on the padded length, never on the other rows: computed with the same
//! padded length alone or in any batch, they are the same bit for bit (see `ClipEncoder`, which pads every clip
//! to a length bucket).

use burn::tensor::{Bool, Device, Tensor, TensorData};

/// `f` applied to each row's valid prefix (`[1, .., lengths[i]]` along `dim`), each result right-padded with
/// zeros along `dim` to `width` steps and the rows stacked again: `[batch, .., width]`. `f` returns at most
/// `width` steps.
pub fn per_row(
    x: Tensor<3>,
    dim: usize,
    lengths: &[usize],
    width: usize,
    f: impl Fn(Tensor<3>) -> Tensor<3>,
) -> Tensor<3> {
    let rows = lengths
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            let row = f(x.clone().narrow(0, i, 1).narrow(dim, 0, len));
            pad_to(row, dim, width)
        })
        .collect();
    Tensor::cat(rows, 0)
}

/// `x` with every step of row `i` from `lengths[i]` on (along `dim`, 1 or 2) set to zero; `x` itself when
/// every row is whole.
pub fn zero_tail(x: Tensor<3>, dim: usize, lengths: &[usize]) -> Tensor<3> {
    let width = x.dims()[dim];
    if lengths.iter().all(|&len| len >= width) {
        return x;
    }
    let mut shape = [lengths.len(), 1, 1];
    shape[dim] = width;
    let past: Vec<bool> = lengths.iter().flat_map(|&len| (0..width).map(move |t| t >= len)).collect();
    let mask = Tensor::<3, Bool>::from_data(TensorData::new(past, shape), &x.device());
    x.mask_fill(mask, 0.0)
}

/// The attention mask of rows with `lengths[i]` valid steps out of `width`: `[batch, 1, width, width]`, true
/// (masked out) at the keys from `lengths[i]` on; `None` when every row is whole.
pub fn key_padding_mask(lengths: &[usize], width: usize, device: &Device) -> Option<Tensor<4, Bool>> {
    if lengths.iter().all(|&len| len >= width) {
        return None;
    }
    let past: Vec<bool> = lengths.iter().flat_map(|&len| (0..width * width).map(move |i| i % width >= len)).collect();
    Some(Tensor::from_data(TensorData::new(past, [lengths.len(), 1, width, width]), device))
}

/// `x` right-padded with zeros along `dim` to `width` steps (unchanged when it has them).
pub fn pad_to(x: Tensor<3>, dim: usize, width: usize) -> Tensor<3> {
    let len = x.dims()[dim];
    if len >= width {
        return x;
    }
    let mut shape = x.dims();
    shape[dim] = width - len;
    let zeros = Tensor::zeros(shape, &x.device());
    Tensor::cat(vec![x, zeros], dim)
}

/// `x` shifted right by `by[i]` steps along `dim` in row `i` (zeros come in on the left), all rows padded to
/// `width`: how a row gets its own left padding inside a batch.
pub fn shift_rows(x: Tensor<3>, dim: usize, lengths: &[usize], by: &[usize], width: usize) -> Tensor<3> {
    let rows = lengths
        .iter()
        .zip(by)
        .enumerate()
        .map(|(i, (&len, &shift))| {
            let row = x.clone().narrow(0, i, 1).narrow(dim, 0, len);
            let row = if shift == 0 {
                row
            } else {
                let mut shape = row.dims();
                shape[dim] = shift;
                Tensor::cat(vec![Tensor::zeros(shape, &row.device()), row], dim)
            };
            pad_to(row, dim, width)
        })
        .collect();
    Tensor::cat(rows, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn tails_are_zeroed_and_rows_shifted() {
        let device = Device::flex();
        let x = Tensor::<3>::from_data(TensorData::new((1..=8).map(|v| v as f32).collect(), [2, 1, 4]), &device);
        assert_eq!(values(zero_tail(x.clone(), 2, &[4, 2])), [1., 2., 3., 4., 5., 6., 0., 0.]);
        let y = x.clone().reshape([2, 4, 1]);
        assert_eq!(values(zero_tail(y, 1, &[1, 3])), [1., 0., 0., 0., 5., 6., 7., 0.]);
        let mask = key_padding_mask(&[2, 1], 2, &device).unwrap().into_data().try_to_vec::<bool>().unwrap();
        assert_eq!(mask, [false, false, false, false, false, true, false, true]);
        assert!(key_padding_mask(&[2, 2], 2, &device).is_none());
        assert_eq!(values(shift_rows(x.clone(), 2, &[3, 2], &[1, 0], 5)), [0., 1., 2., 3., 0., 5., 6., 0., 0., 0.]);
        let summed = per_row(x, 2, &[4, 1], 2, |row| row.clone().sum_dim(2).reshape([1, 1, 1]));
        assert_eq!(values(summed), [10., 0., 5., 0.]);
    }
}
