from tests.adapters.discord.conftest import World
from tests.fakes.discord_api import eventually


async def test_connects(world: World) -> None:
    fake = world.fake
    mid = fake.say(world.alice, world.intake, "I can't log in, the password reset email never arrives")
    await eventually(lambda: fake.bot_messages_in(mid), what="ack")
    print(fake.bot_messages_in(mid))
    print([c.path for c in fake.calls])
