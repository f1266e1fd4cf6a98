//! The 1000 ImageNet-1k class names, in torchvision's order (`weights.meta["categories"]`).

use std::sync::OnceLock;

const JSON: &str = include_str!("../resources/imagenet_classes.json");

/// The class names, index = logit position.
pub fn imagenet() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| serde_json::from_str(JSON).expect("built-in class list is valid JSON"))
}

/// The name of class `index` for a classifier with `classes` outputs: the ImageNet name for
/// 1000-class models, `class N` otherwise.
pub fn label(index: usize, classes: usize) -> String {
    match imagenet().get(index) {
        Some(name) if classes == 1000 => name.clone(),
        _ => format!("class {index}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn has_the_thousand_classes_in_order() {
        let names = super::imagenet();
        assert_eq!(names.len(), 1000);
        assert_eq!(names[0], "tench");
        assert_eq!(names[285], "Egyptian cat");
        assert_eq!(super::label(3, 10), "class 3");
    }
}
