# Transcribed from seed 004 (Client.py, "Multi User Chat Server using TCP"). Seed 002 quotes the same
# code with a plain prompt, input("Choose your nickname: "); this file keeps seed 004's coloured prompt.
# Only OCR damage is fixed (indentation, `input("))` -> `input('')`, `write thread`); every wire
# behaviour and every bug is kept on purpose: this is a conformance target, not a fixed client.
# See README.md in this directory for the known defects (D-NC-*).
import socket
import threading
import sys  # chatkit: host/port override

HOST, PORT = '127.0.0.1', 55555  # chatkit: host/port override
if len(sys.argv) > 1: HOST = sys.argv[1]  # chatkit: host/port override
if len(sys.argv) > 2: PORT = int(sys.argv[2])  # chatkit: host/port override

# Choosing Nickname
nickname = input("\33[32m \tChoose your Nickname : \33[0m")

# Connecting To Server
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect((HOST, PORT))  # chatkit: host/port override (seed: ('127.0.0.1', 55555))

# Listening to Server and Sending Nickname
def receive():
    while True:
        try:
            # Receive Message From Server
            # If 'NICK' Send Nickname
            message = client.recv(1024).decode('ascii')
            if message == 'NICK':
                client.send(nickname.encode('ascii'))
            else:
                print(message)
        except:
            # Close Connection When Error
            print("An error occured!")
            client.close()
            break

# Sending Messages To Server
def write():
    while True:
        message = '{}: {}'.format(nickname, input(''))
        client.send(message.encode('ascii'))

# Starting Threads For Listening And Writing
receive_thread = threading.Thread(target=receive)
receive_thread.start()
write_thread = threading.Thread(target=write)
write_thread.start()
