"""No lost edits in a real browser (issue 11): the owner has a payer's set-up page open in
two tabs. Tab A changes the claims phone and saves. Tab B, opened before, changes the
payer's name and saves: it is refused, the page says what tab A changed, tab B's typed
name is still in the field and the phone it left alone now shows tab A's. Saving again
keeps both changes.

`effleura shell` against the e2e site makes a payer of this test's own."""

import json

from playwright.sync_api import expect

SETUP = """
import json
from django.contrib.auth import get_user_model
from effleura.billing import setup
owner = get_user_model().objects.get(username="owner")
data = {"name": "Conflict Mutual (synthetic)", "phone": "555-0140"}
payer = setup.do_save_payer(owner, setup.check_save_payer(owner, data))
print(json.dumps({"payer": str(payer.public_id)}))
"""

READ = """
import json
from effleura.billing.models import Payer
payer = Payer.objects.get(public_id="{id}")
print(json.dumps({"name": payer.name, "phone": payer.phone, "version": payer.version}))
"""


def test_two_tabs_editing_one_payer_lose_nothing(site, browser, login):
    made = json.loads(site.manage("shell", "-c", SETUP).stdout.strip().splitlines()[-1])
    url = f"/billing/setup/payers/{made['payer']}/"
    context = browser.new_context(base_url=site.url)
    try:
        tab_a = login(context.new_page(), "owner")
        tab_b = context.new_page()
        tab_a.goto(url)
        tab_b.goto(url)

        tab_a.get_by_label("Phone", exact=True).fill("555-0141")
        tab_a.get_by_role("button", name="Save").click()
        expect(tab_a.get_by_text("Conflict Mutual (synthetic) saved.")).to_be_visible()

        tab_b.locator("#id_name").fill("Conflict Mutual West (synthetic)")
        tab_b.get_by_role("button", name="Save").click()
        conflict = tab_b.get_by_role("alert").filter(has_text="saved this payer")
        expect(conflict).to_be_visible()
        expect(conflict).to_contain_text("after you opened it")
        expect(conflict).to_contain_text("Nothing of yours has been saved yet.")
        expect(conflict).to_contain_text("Phone")  # what the other tab changed…
        expect(conflict).to_contain_text("555-0141")
        expect(tab_b.locator("#id_name")).to_have_value("Conflict Mutual West (synthetic)")  # …and B's input

        expect(tab_b.get_by_label("Phone", exact=True)).to_have_value("555-0141")  # A's, which B left alone
        tab_b.get_by_role("button", name="Save").click()
        expect(tab_b.get_by_text("Conflict Mutual West (synthetic) saved.")).to_be_visible()
    finally:
        context.close()
    saved = json.loads(site.manage("shell", "-c", READ.replace("{id}", made["payer"])).stdout.strip().splitlines()[-1])
    assert saved == {"name": "Conflict Mutual West (synthetic)", "phone": "555-0141", "version": 3}
