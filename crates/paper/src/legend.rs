//! How the figures name and colour what they show: the report's name of each activation, and
//! one colour per meaning, the same in every figure (an activation, an attention, a kind of
//! mass, a reference line). Groups with no meaning of their own take shades of a ramp.

use sphereflow_figures::{ramp, Colour};
use sphereflow_solver::Activation;

/// The colour of the largest cluster's mass (of particles, or of the density's cells).
pub const CLUSTER_MASS: Colour = Colour::RED;
/// The colour of the heaviest short arc's mass (the window of the theorem, or one cell).
pub const ARC_MASS: Colour = Colour::CYAN;
/// The colour of theory and reference lines: bounds, limits, slopes, caps.
pub const REFERENCE: Colour = Colour::BLACK;

/// The colour of an activation (the null run's is grey), in every figure.
pub fn activation_colour(activation: Activation) -> Colour {
    match activation {
        Activation::Relu => Colour::BLUE,
        Activation::Gelu => Colour::ORANGE,
        Activation::None => Colour::GREY,
        Activation::Linear => Colour::BROWN,
        Activation::Tanh => Colour::PINK,
        Activation::LeakyRelu => Colour::OLIVE,
    }
}

/// The colour of an attention (`usa` or `sa`, any case), in every figure.
pub fn attention_colour(attention: &str) -> Option<Colour> {
    match attention.to_ascii_lowercase().as_str() {
        "usa" => Some(Colour::GREEN),
        "sa" => Some(Colour::PURPLE),
        _ => None,
    }
}

/// The colour of a group of runs by its label: an activation's name as the report writes it
/// ([`name_of`]), or `activation=<name>` / `attention=<name>` among its `key=value` words; else
/// shade `index` of `count` on the ramp.
pub fn group_colour(label: &str, index: usize, count: usize) -> Colour {
    let activations = [
        Activation::Relu,
        Activation::Gelu,
        Activation::None,
        Activation::Linear,
        Activation::Tanh,
        Activation::LeakyRelu,
    ];
    if let Some(&a) = activations.iter().find(|&&a| name_of(a) == label) {
        return activation_colour(a);
    }
    let words: Vec<(&str, &str)> = label
        .split_whitespace()
        .filter_map(|word| word.split_once('='))
        .collect();
    if let [(key, value)] = words.as_slice() {
        match *key {
            "activation" => {
                if let Some(&a) = activations.iter().find(|&&a| a.as_str() == *value) {
                    return activation_colour(a);
                }
            }
            "attention" => {
                if let Some(colour) = attention_colour(value) {
                    return colour;
                }
            }
            _ => {}
        }
    }
    ramp(index, count)
}

/// How the report names an activation.
pub fn name_of(activation: Activation) -> &'static str {
    match activation {
        Activation::None => "null run",
        Activation::Relu => "ReLU",
        Activation::Gelu => "GeLU",
        Activation::Linear => "linear",
        Activation::Tanh => "tanh",
        Activation::LeakyRelu => "leaky ReLU",
    }
}
