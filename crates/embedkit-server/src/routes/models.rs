//! `GET /v1/models` and `GET /v1/models/{id}` in OpenAI's list schema.

use crate::openai::{ApiError, ErrorKind, ModelCard, ModelList};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;

fn card(name: &str, created: u64) -> ModelCard {
    ModelCard {
        id: name.to_string(),
        object: "model",
        created,
        owned_by: "embedkit",
    }
}

pub async fn list(State(state): State<AppState>) -> Json<ModelList> {
    Json(ModelList {
        object: "list",
        data: state
            .models
            .iter()
            .map(|(n, m)| card(n, m.created))
            .chain(state.images.iter().map(|(n, m)| card(n, m.created)))
            .chain(state.remotes.iter().map(|(n, m)| card(n, m.created)))
            .chain(state.rerankers.iter().map(|(n, m)| card(n, m.created)))
            .collect(),
    })
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ModelCard>, ApiError> {
    let created = state
        .models
        .get(&id)
        .map(|m| m.created)
        .or_else(|| state.images.get(&id).map(|m| m.created))
        .or_else(|| state.remotes.get(&id).map(|m| m.created))
        .or_else(|| state.rerankers.get(&id).map(|m| m.created));
    created.map(|c| Json(card(&id, c))).ok_or_else(|| {
        ApiError::new(
            ErrorKind::ModelNotFound,
            format!("the model {id:?} does not exist"),
        )
    })
}
