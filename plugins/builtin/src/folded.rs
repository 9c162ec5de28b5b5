//! Folded weight norm: published files (transformers' `save_pretrained` after `remove_weight_norm()`,
//! `DacModel`, hub ports) hold a weight-normed conv as one plain `weight`. It loads into our weight-normed
//! convs (`weight_g`, `weight_v`) as `v = weight` and `g = ||weight||` over the dims the norm uses (those
//! where `g` has size 1), so `g * v / ||v||` gives the file's weight back and training can continue from it.

use burn::module::Module;
use burn::store::{ApplyResult, ModuleSnapshot, PathFilter, bridge};
use burn::tensor::TensorData;
use std::collections::HashSet;

/// The module's weight-normed stems (`x` of `x.weight_g` + `x.weight_v`) that the file holds as a plain
/// `x.weight` (and not as `x.weight_v`). `file_keys` are the file's names after the key map.
pub(crate) fn folded_stems<M: Module>(module: &M, file_keys: &HashSet<String>) -> Vec<String> {
    let names: HashSet<String> = module.collect(None, None, true).into_iter().map(|t| t.name).collect();
    let mut stems: Vec<String> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".weight_v"))
        .filter(|stem| names.contains(&format!("{stem}.weight_g")))
        .filter(|stem| {
            file_keys.contains(&format!("{stem}.weight")) && !file_keys.contains(&format!("{stem}.weight_v"))
        })
        .map(str::to_string)
        .collect();
    stems.sort();
    stems
}

/// A key-map pattern renaming `stem.weight` to `stem.weight_v` (replacement `$1.weight_v`) for `stems`,
/// or `None` when there are none.
pub(crate) fn folded_key_pattern(stems: &[String]) -> Option<String> {
    if stems.is_empty() {
        return None;
    }
    let alternation: Vec<String> = stems.iter().map(|s| regex::escape(s)).collect();
    Some(format!(r"^({})\.weight$", alternation.join("|")))
}

/// After a load that put the folded weights into `v`: sets each such stem's `g` to `||v||` and takes the
/// `g`s off the result's missing list. Stems whose `v` was not loaded (another part, a one-side load) are
/// left alone.
pub(crate) fn restore_magnitudes<M: Module>(
    module: &mut M,
    stems: &[String],
    result: &mut ApplyResult,
) -> Result<(), String> {
    let applied: HashSet<&str> = result.applied.iter().map(String::as_str).collect();
    let loaded: Vec<&String> = stems.iter().filter(|s| applied.contains(format!("{s}.weight_v").as_str())).collect();
    if loaded.is_empty() {
        return Ok(());
    }
    let wanted: Vec<String> = loaded.iter().flat_map(|s| [format!("{s}.weight_v"), format!("{s}.weight_g")]).collect();
    let filter = PathFilter::new().with_full_paths(wanted);
    let snapshots = module.collect(Some(filter), None, true);
    let find = |name: &str| snapshots.iter().find(|t| t.name == name);
    let mut magnitudes = Vec::with_capacity(loaded.len());
    for stem in &loaded {
        let (Some(v), Some(g)) = (find(&format!("{stem}.weight_v")), find(&format!("{stem}.weight_g"))) else {
            return Err(format!("{stem}: weight-normed conv without both weight_g and weight_v"));
        };
        let g_shape: Vec<usize> = g.shape.to_vec();
        let v_data = bridge::to_data(v).map_err(|e| format!("{stem}.weight: {e}"))?;
        let values = v_data.convert::<f32>().try_into_vec::<f32>().map_err(|e| format!("{stem}.weight: {e:?}"))?;
        let norms =
            norms_over_unit_dims(&values, &v.shape.to_vec(), &g_shape).map_err(|e| format!("{stem}.weight: {e}"))?;
        let name = format!("{stem}.weight_g");
        magnitudes.push(bridge::from_data(TensorData::new(norms, g_shape), name, None));
    }
    let applied_g = module.apply(magnitudes, None, None, true);
    if !applied_g.errors.is_empty() {
        return Err(format!("cannot set the weight-norm magnitudes: {:?}", applied_g.errors));
    }
    let filled: HashSet<String> = applied_g.applied.into_iter().collect();
    result.missing.retain(|(path, _)| !filled.contains(path));
    result.applied.extend(filled);
    Ok(())
}

/// `sqrt(sum x^2)` of `values` (shape `v_shape`) over every dim where `g_shape` is 1, in `g_shape`'s layout:
/// torch's `weight_norm(dim=d)` norm for a `g` of size 1 everywhere but `d`.
fn norms_over_unit_dims(values: &[f32], v_shape: &[usize], g_shape: &[usize]) -> Result<Vec<f32>, String> {
    let fits = v_shape.len() == g_shape.len() && v_shape.iter().zip(g_shape).all(|(&v, &g)| g == v || g == 1);
    if !fits || values.len() != v_shape.iter().product::<usize>() {
        return Err(format!("shape {v_shape:?} does not fit a weight-norm magnitude of shape {g_shape:?}"));
    }
    let mut sums = vec![0f64; g_shape.iter().product()];
    for (i, &x) in values.iter().enumerate() {
        let (mut rest, mut at, mut stride) = (i, 0, 1);
        for d in (0..v_shape.len()).rev() {
            let coord = rest % v_shape[d];
            rest /= v_shape[d];
            if g_shape[d] != 1 {
                at += coord * stride;
            }
            stride *= g_shape[d];
        }
        sums[at] += x as f64 * x as f64;
    }
    Ok(sums.into_iter().map(|s| s.sqrt() as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norms_follow_the_dims_where_g_is_one() {
        // [2, 2, 2]: rows 0..4 and 4..8.
        let v: Vec<f32> = (1..=8).map(|x| x as f32).collect();
        let out = norms_over_unit_dims(&v, &[2, 2, 2], &[2, 1, 1]).unwrap();
        let want0 = (1f32 + 4.0 + 9.0 + 16.0).sqrt();
        let want1 = (25f32 + 36.0 + 49.0 + 64.0).sqrt();
        assert_eq!(out, vec![want0, want1]);
        // HuBERT's positional conv: weight_norm(dim=2), g [1, 1, K].
        let out = norms_over_unit_dims(&v, &[2, 2, 2], &[1, 1, 2]).unwrap();
        let odd = (1f32 + 9.0 + 25.0 + 49.0).sqrt();
        let even = (4f32 + 16.0 + 36.0 + 64.0).sqrt();
        assert_eq!(out, vec![odd, even]);
        assert!(norms_over_unit_dims(&v, &[2, 2, 2], &[3, 1, 1]).is_err());
    }

    #[test]
    fn the_pattern_renames_only_the_listed_stems() {
        let pattern = folded_key_pattern(&["a.conv1".into(), "b.0".into()]).unwrap();
        let re = regex::Regex::new(&pattern).unwrap();
        assert_eq!(re.replace("a.conv1.weight", "$1.weight_v"), "a.conv1.weight_v");
        assert!(!re.is_match("a.conv1.bias") && !re.is_match("xa.conv1.weight") && !re.is_match("b.01.weight"));
        assert!(folded_key_pattern(&[]).is_none());
    }
}
