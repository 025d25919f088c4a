//! A small demo catalog for the development demo owner, so the sandbox chat
//! and the playground have something real to answer from.

use sqlx::PgPool;

use crate::catalog::store::{self, CatalogError, ProductInput};
use crate::tenancy::OwnerId;

/// Products, delivery areas, payment methods, rules and one FAQ entry.
pub async fn seed(pool: &PgPool, owner: OwnerId) -> Result<(), CatalogError> {
    let products = [
        (
            "SAREE-TANGAIL-RED",
            "Red Tangail Cotton Saree",
            "লাল টাঙ্গাইল সুতি শাড়ি",
            "1850",
            "",
            "12",
            "saree, cotton, tangail",
        ),
        (
            "SAREE-JAMDANI-BLUE",
            "Blue Jamdani Saree",
            "নীল জামদানি শাড়ি",
            "6500",
            "5900",
            "3",
            "saree, jamdani",
        ),
        (
            "THREE-PIECE-LAWN",
            "Lawn Three-Piece",
            "লন থ্রি পিস",
            "1450",
            "",
            "20",
            "three-piece, lawn, salwar",
        ),
        (
            "PANJABI-WHITE",
            "White Cotton Panjabi",
            "সাদা সুতি পাঞ্জাবি",
            "1650",
            "",
            "0",
            "panjabi, men",
        ),
    ];
    for (sku, name, name_bn, price, sale, stock, tags) in products {
        store::create_product(
            pool,
            owner,
            &ProductInput {
                sku: sku.into(),
                name: name.into(),
                name_bn: name_bn.into(),
                description: format!("{name}, handmade in Bangladesh."),
                price: price.into(),
                sale_price: sale.into(),
                stock: stock.into(),
                tags: tags.into(),
                active: true,
                ..ProductInput::default()
            },
        )
        .await?;
    }
    store::add_delivery_area(pool, owner, "Inside Dhaka", "60", "1", "2").await?;
    store::add_delivery_area(pool, owner, "Outside Dhaka", "120", "2", "4").await?;
    store::add_payment_method(pool, owner, "cod", "Pay the delivery person in cash.").await?;
    store::add_payment_method(
        pool,
        owner,
        "bkash",
        "Send Money to 01711000000 and write your order number as the reference.",
    )
    .await?;
    store::add_faq(
        pool,
        owner,
        "exchange\nbodol\nবদল",
        "You can exchange within 3 days if the saree is unused and has its tag.",
    )
    .await?;
    store::save_rules(
        pool,
        owner,
        "friendly",
        "free delivery",
        "wholesale",
        "",
        "",
        "Thank you! Nusrat will answer you herself shortly.",
    )
    .await?;
    store::save_contact(
        pool,
        owner,
        "01711-000000",
        "House 7, Road 3, Dhanmondi, Dhaka",
        true,
        "",
    )
    .await?;
    Ok(())
}
