use tidemill::prelude::*;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Transaction {
    transaction_id: u64,
    amount: f64,
    note: Option<String>,
}

fn main() {
    let data: Vec<Transaction> = Vec::new();
    let _ = stream! {
        let transactions = from_collection(data);
        sql!("SELECT COUNT(*) AS n FROM transactions").print();
    };
}
