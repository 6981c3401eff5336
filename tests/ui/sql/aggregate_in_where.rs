use tidemill::prelude::*;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Action {
    user_id: u64,
    item_id: u64,
}

fn main() {
    let data: Vec<Action> = Vec::new();
    let _ = stream! {
        let user_actions = from_collection(data);
        sql!("SELECT user_id, COUNT(*) AS n FROM user_actions WHERE COUNT(*) > 1 GROUP BY user_id").print();
    };
}
